import type { AgentRecord, MembershipChange } from '../records.js';
import type { AgentDirectory } from './agent-directory.js';
import type { AuditCommandFields } from './audit-command-fields.js';
import type { AuditSource } from './command-source.js';

type AuditWrite = { id: string; source: AuditSource };

/**
 * Writes one change of an agent's groups: the agent's document, then the audit record of the
 * change, named by the agent's document and its version after the write, so that writing it twice
 * is harmless. A change made by a set-group command's success carries that command's fields
 * (`command`): a key's scope and the trail's filters read it as the command's. Null, nothing
 * written, when the agent is not registered.
 */
export async function writeMembership(
  agents: AgentDirectory,
  writeAudit: (audits: AuditWrite[]) => Promise<void>,
  change: MembershipChange,
  command?: AuditCommandFields,
): Promise<AgentRecord | null> {
  const written = await agents.setGroups(change.agent_id, change.groups);
  if (!written) return null;
  const source: AuditSource = { kind: 'membership', ...change, previous_groups: written.before.groups, ...(command ? { command } : {}) };
  await writeAudit([{ id: `agent:${change.agent_id}:${written.version.primaryTerm}:${written.version.seqNo}`, source }]);
  return written.after;
}
