import type Database from 'better-sqlite3';
import type { AgentRecord, MembershipChange } from '../records.js';
import { agentRecord, type AgentRow } from './rows.js';

/**
 * Sets an agent's groups (its row and its `agent_groups` rows) and writes the audit record of the
 * change, in the caller's transaction: the store's writer thread writes it with the transition of
 * the set-group command that caused it (`seq`: that command's), the store's own connection with an
 * operator's edit (`seq` null). Null, nothing written, when the agent is not registered.
 */
export function membershipWrites(db: Database.Database): (change: MembershipChange, seq: number | null) => AgentRecord | null {
  const select = db.prepare(`SELECT id, key_hash, groups, created_at, name FROM agents WHERE id = ?`);
  const update = db.prepare(`UPDATE agents SET groups = ? WHERE id = ?`);
  const clear = db.prepare(`DELETE FROM agent_groups WHERE agent_id = ?`);
  const join = db.prepare(`INSERT OR IGNORE INTO agent_groups (group_name, agent_id) VALUES (?, ?)`);
  const audit = db.prepare(
    `INSERT INTO audit (kind, document_id, seq, cause, at, node, actor, agent_id, groups, previous_groups)
     VALUES ('membership', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return (change, seq) => {
    const row = select.get(change.agent_id) as AgentRow | undefined;
    if (!row) return null;
    const groups = JSON.stringify(change.groups);
    update.run(groups, change.agent_id);
    clear.run(change.agent_id);
    for (const group of change.groups) join.run(group, change.agent_id);
    audit.run(change.document_id, seq, change.cause, change.at, change.node, change.actor, change.agent_id, groups, row.groups);
    return { ...agentRecord(row), groups: change.groups };
  };
}
