import type { CommandDocument, CommandResult, CommandStatus } from '../../domain/command.js';
import type { MembershipChange, TransitionRecord } from '../records.js';
import type { StatusChange, WriteBatch } from '../store.js';

/**
 * A batch of writes as it crosses to the store's writer thread: each create and each status change
 * one flat array of its values, in a fixed order. A message is copied by the structured clone
 * algorithm, which writes every property's name with every object: flat, a status change costs the
 * event loop a third of what its object does, a create half (measured on 2,000 of each). The writer
 * thread turns them back into the same objects (`decodeWriteBatch`); what is not a plain value
 * (an action's `args`, a result, a membership change) crosses as it is.
 *
 * An audit record always belongs to the command it is written with: its `document_id` does not cross.
 */
export interface WireBatch {
  creates: WireCreate[];
  changes: WireChange[];
}

type WireCreate = [
  documentId: string,
  timestamp: string,
  deliveryTimestamp: string,
  agentId: string | null,
  groups: string[],
  source: string,
  user: string | null,
  targetType: CommandDocument['command']['target']['type'],
  targetId: string,
  actionName: string,
  actionArgs: Record<string, unknown>,
  actionVersion: string,
  timeout: number,
  requestId: string,
  orderId: string,
  route: string,
  seq: number,
  owner: string | null,
  jobId: string | null,
  jobStep: number | null,
  jobAttempt: number | null,
  ...audit: WireAudit,
];

type WireChange = [
  documentId: string,
  seq: number,
  status: CommandStatus,
  result: CommandResult | null,
  deliveredAt: number | null,
  executionDeadline: number | null,
  attempts: number,
  claimNode: string | null,
  claimUntil: number | null,
  membership: MembershipChange | null,
  ...audit: WireAudit,
];

type WireAudit = [from: CommandStatus | null, to: CommandStatus, cause: string, at: number, node: string, actor: string];
/**
 * No field left behind: a field added to a document or a change must be given a place here. Each
 * constant fails to compile while its type has a field the encoding does not name.
 */
type Named<T, K extends keyof T> = Exclude<keyof T, K> extends never ? true : Exclude<keyof T, K>;
const DOCUMENT_FIELDS: Named<CommandDocument, 'document_id' | '@timestamp' | 'delivery_timestamp' | 'agent' | 'command' | 'route' | 'seq' | 'owner' | 'job'> = true;
const COMMAND_FIELDS: Named<CommandDocument['command'], 'source' | 'user' | 'target' | 'action' | 'timeout' | 'request_id' | 'order_id'> = true;
const CHANGE_FIELDS: Named<StatusChange, 'document_id' | 'seq' | 'status' | 'result' | 'deliveredAt' | 'executionDeadline' | 'attempts' | 'claim' | 'membership' | 'audit'> = true;
const AUDIT_FIELDS: Named<TransitionRecord, 'document_id' | 'from' | 'to' | 'cause' | 'at' | 'node' | 'actor'> = true;
void [DOCUMENT_FIELDS, COMMAND_FIELDS, CHANGE_FIELDS, AUDIT_FIELDS];

/** On the event loop: plain loops, one array per write and nothing else. */
export function encodeWriteBatch(batch: WriteBatch): WireBatch {
  const creates = new Array<WireCreate>(batch.creates.length);
  for (let i = 0; i < creates.length; i++) {
    const { doc, audit: a } = batch.creates[i]!;
    const { command, job } = doc;
    creates[i] = [
      doc.document_id,
      doc['@timestamp'],
      doc.delivery_timestamp,
      doc.agent.id,
      doc.agent.groups,
      command.source,
      command.user ?? null,
      command.target.type,
      command.target.id,
      command.action.name,
      command.action.args,
      command.action.version,
      command.timeout,
      command.request_id,
      command.order_id,
      doc.route,
      doc.seq,
      doc.owner ?? null,
      job?.id ?? null,
      job?.step ?? null,
      job?.attempt ?? null,
      a.from,
      a.to,
      a.cause,
      a.at,
      a.node,
      a.actor,
    ];
  }
  const changes = new Array<WireChange>(batch.changes.length);
  for (let i = 0; i < changes.length; i++) {
    const c = batch.changes[i]!;
    const { claim, audit: a } = c;
    changes[i] = [
      c.document_id,
      c.seq,
      c.status,
      c.result,
      c.deliveredAt,
      c.executionDeadline,
      c.attempts,
      claim?.node ?? null,
      claim?.until ?? null,
      c.membership ?? null,
      a.from,
      a.to,
      a.cause,
      a.at,
      a.node,
      a.actor,
    ];
  }
  return { creates, changes };
}

export function decodeWriteBatch(wire: WireBatch): WriteBatch {
  return {
    creates: wire.creates.map((c) => {
      const [document_id, timestamp, delivery_timestamp, agentId, groups, source, user, targetType, targetId, actionName, args, version, timeout, request_id, order_id] = c;
      const [, , , , , , , , , , , , , , , route, seq, owner, jobId, jobStep, jobAttempt] = c;
      const command: CommandDocument['command'] = {
        source,
        target: { type: targetType, id: targetId },
        action: { name: actionName, args, version },
        timeout,
        request_id,
        order_id,
      };
      if (user !== null) command.user = user;
      const doc: CommandDocument = { document_id, '@timestamp': timestamp, delivery_timestamp, agent: { id: agentId, groups }, command, route, seq };
      if (owner !== null) doc.owner = owner;
      if (jobId !== null) doc.job = { id: jobId, step: jobStep!, attempt: jobAttempt! };
      return { doc, audit: decodeAudit(document_id, c, 21) };
    }),
    changes: wire.changes.map((c) => {
      const [document_id, seq, status, result, deliveredAt, executionDeadline, attempts, claimNode, claimUntil, membership] = c;
      const change: StatusChange = {
        document_id,
        seq,
        status,
        result,
        deliveredAt,
        executionDeadline,
        attempts,
        claim: claimNode === null ? null : { node: claimNode, until: claimUntil! },
        audit: decodeAudit(document_id, c, 10),
      };
      if (membership !== null) change.membership = membership;
      return change;
    }),
  };
}

/** The audit fields that end `row`, from `at` on, of the command `document_id`. */
function decodeAudit(document_id: string, row: readonly unknown[], at: number): TransitionRecord {
  return {
    document_id,
    from: row[at] as CommandStatus | null,
    to: row[at + 1] as CommandStatus,
    cause: row[at + 2] as string,
    at: row[at + 3] as number,
    node: row[at + 4] as string,
    actor: row[at + 5] as string,
  };
}
