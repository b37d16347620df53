import type Database from 'better-sqlite3';
import { INITIAL_STATUS } from '../../domain/command.js';
import type { TransitionRecord } from '../records.js';
import type { WriteBatch, WriteOutcome } from '../store.js';
import { membershipWrites } from './membership-writes.js';

/**
 * The write path of the embedded store: one batch of creates and status changes, each with its audit
 * record (and the membership change a change carries), as one transaction. Runs on whichever
 * connection is given (the store's writer thread).
 */
export function commandWrites(db: Database.Database): (batch: WriteBatch) => WriteOutcome {
  // Bound by position: no object per row, no lookup by name.
  const insertCommand = db.prepare(
    `INSERT INTO commands (document_id, seq, route, agent_id, request_id, action, target, status, created_at,
       delivery_deadline, attempts, updated_at, doc, job_step, job_attempt)
     VALUES (?, ?, ?, ?, ?, ?, ?, '${INITIAL_STATUS}', ?, ?, 0, ?, ?, ?, ?)
     ON CONFLICT(document_id) DO NOTHING`,
  );
  // Found by seq, the recent end of an ordered index (document_id is a random UUID); the
  // document_id is checked on the row found (`+`: not used to search), so a wrong seq writes nothing.
  const updateCommand = db.prepare(
    `UPDATE commands SET status = ?, result = ?, delivered_at = ?, execution_deadline = ?, attempts = ?, updated_at = ?
     WHERE seq = ? AND +document_id = ?`,
  );
  const insertAudit = db.prepare(
    `INSERT INTO audit (document_id, seq, from_status, to_status, cause, at, node, actor)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setGroups = membershipWrites(db);
  // An audit record joins its command's trail by the command's seq, carried by the write (not looked up).
  const audit = (a: TransitionRecord, seq: number) => insertAudit.run(a.document_id, seq, a.from, a.to, a.cause, a.at, a.node, a.actor);

  return db.transaction((b: WriteBatch): WriteOutcome => {
    const created = b.creates.map(({ doc, audit: a }) => {
      const createdAt = Date.parse(doc['@timestamp']);
      const inserted =
        insertCommand.run(
          doc.document_id,
          doc.seq,
          doc.route,
          doc.agent.id,
          doc.command.request_id,
          doc.command.action.name,
          `${doc.command.target.type}:${doc.command.target.id}`,
          createdAt,
          Date.parse(doc.delivery_timestamp),
          createdAt,
          JSON.stringify(doc),
          doc.job?.step ?? null,
          doc.job?.attempt ?? null,
        ).changes === 1;
      if (inserted) audit(a, doc.seq);
      return inserted;
    });
    // Several changes of one command in a batch (an agent's ack and its result, read in one turn):
    // its row is written once, with the last of them (each carries the whole mutable state);
    // every change still gets its audit record, in order, in this same transaction.
    const last = new Map<string, number>();
    for (let i = 0; i < b.changes.length; i++) last.set(b.changes[i]!.document_id, i);
    const changes = b.changes.map((c, i) => {
      const a = c.audit;
      if (last.get(c.document_id) === i)
        updateCommand.run(c.status, c.result ? JSON.stringify(c.result) : null, c.deliveredAt, c.executionDeadline, c.attempts, a.at, c.seq, c.document_id);
      audit(a, c.seq);
      // What the transition changes in the registry is written with it, or not at all.
      if (c.membership) setGroups(c.membership, c.seq);
      return 'ok' as const;
    });
    return { created, changes };
  });
}
