import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import { FINAL_STATUSES } from '../../domain/command.js';
import { errors } from '../../errors.js';
import { isStoreFailure, type StatusChange, type WriteBatch, type WriteOutcome } from '../store.js';
import type { MembershipChange } from '../records.js';
import type { AgentDirectory } from './agent-directory.js';
import { writeMembership } from './membership.js';
import { auditSource, changeSource, entryOf, newCommandSource, type AuditSource } from './command-source.js';
import { auditCommandFields, type AuditCommandFields } from './audit-command-fields.js';
import { isUnavailable, toCourierError, toWriteError } from './failures.js';
import type { IndexNames } from './indices.js';
import type { DocVersion, VersionBook } from './version-book.js';

/** Agents whose membership changes are written at once. */
const MEMBERSHIP_WRITES_AT_ONCE = 32;

export interface BulkWriterOptions {
  client: Client;
  names: IndexNames;
  /** The versions this node's changes are conditioned on; updated with every write that goes through. */
  book: VersionBook;
  logger: Logger;
  /** Whether structured result data is stored as JSON text (known once the store is open). */
  resultDataAsText: () => boolean;
  /** Where the membership changes that status changes carry are written. */
  agents: AgentDirectory;
}

/**
 * A bulk item worth another try: the cluster was busy or briefly unable, or refuses writes for a
 * while (a cluster block, e.g. the disk flood stage), as opposed to refusing this document.
 */
function isTransient(result: BulkResult): boolean {
  return [429, 500, 502, 503, 504].includes(result.status) || (result.status === 403 && result.error?.type === 'cluster_block_exception');
}
const ITEM_RETRIES = 5;

function isWritten(result: BulkResult): boolean {
  return result.status >= 200 && result.status < 300;
}

/**
 * One write of the batch. A command's changes of one batch are one `update` (`item`, the last of
 * them, carries the whole resulting state), conditioned on the version before the first: an ack
 * and a result arriving together are one write, not two rounds. `earlier` are the changes it
 * stands for before the last; each keeps its audit record.
 */
type Op =
  | { kind: 'create'; index: number; id: string; item: WriteBatch['creates'][number] }
  | { kind: 'change'; index: number; id: string; item: StatusChange; earlier: { index: number; item: StatusChange }[] };

interface BulkResult {
  status: number;
  _seq_no?: number;
  _primary_term?: number;
  error?: { type?: string; reason?: string };
}

/** What became of one write: written (its new version), a conflict (the runtime re-reads), or failed (why). */
type Settled = { written: DocVersion } | { conflict: true } | { failed: unknown };

/** The answers to one `_bulk` request, per item; items it left unanswered (the request failed) have none, and `error` says why. */
interface BulkAnswer {
  results: (BulkResult | undefined)[];
  error?: unknown;
}

/**
 * The OpenSearch store's writes. A batch of creates and status changes is one `_bulk` request
 * (per round, see `commit`): creates are `op_type: create`, changes are partial updates conditioned
 * on `if_seq_no` + `if_primary_term` of the version in the book. Their audit records are items of
 * the same request; those of writes that did not go through are removed after it.
 *
 * `_bulk` is not a transaction: some items may be written and others not. Each item is reported
 * for itself (written, conflict, or failed with its error, in `WriteOutcome.failed`); the batch
 * as a whole fails (throws) only when nothing of it was written, so that a write that went
 * through is never reported failed and then made a second time. For the same reason, the
 * membership change a status change carries (a set-group command's success) is written after it,
 * once it went through, as its audit records are.
 */
export class BulkWriter {
  private readonly client: Client;
  private readonly names: IndexNames;
  private readonly book: VersionBook;
  private readonly logger: Logger;

  constructor(private readonly options: BulkWriterOptions) {
    this.client = options.client;
    this.names = options.names;
    this.book = options.book;
    this.logger = options.logger;
  }

  async commit(batch: WriteBatch): Promise<WriteOutcome> {
    const failed = { creates: new Map<number, unknown>(), changes: new Map<number, unknown>() };
    const outcome: WriteOutcome = { created: batch.creates.map(() => false), changes: batch.changes.map(() => 'conflict' as const), failed };
    // A command's second change in one batch needs the version its first one produces: each
    // command's n-th write goes in the n-th round, and rounds are sent one after the other.
    const rounds: Op[][] = [];
    const depth = new Map<string, number>();
    const place = (op: Op) => {
      const d = depth.get(op.id) ?? 0;
      depth.set(op.id, d + 1);
      (rounds[d] ??= []).push(op);
    };
    batch.creates.forEach((item, index) => place({ kind: 'create', index, id: item.doc.document_id, item }));
    const changeOf = new Map<string, Extract<Op, { kind: 'change' }>>();
    batch.changes.forEach((item, index) => {
      const op = changeOf.get(item.document_id);
      if (!op) {
        const first: Op = { kind: 'change', index, id: item.document_id, item, earlier: [] };
        changeOf.set(item.document_id, first);
        place(first);
        return;
      }
      op.earlier.push({ index: op.index, item: op.item });
      op.index = index;
      op.item = item;
    });

    const audits: { id: string; source: AuditSource }[] = [];
    const memberships: { change: MembershipChange; command: AuditCommandFields }[] = [];
    // An earlier write of this command in the batch did not go through: its later ones are not
    // sent, and share its fate (a conflict: re-read; a failure: tried again, in order).
    const stopped = new Map<string, Exclude<Settled, { written: DocVersion }>>();
    const fail = (op: Op, error: unknown) => {
      if (op.kind === 'create') failed.creates.set(op.index, error);
      else for (const { index } of [...op.earlier, op]) failed.changes.set(index, error);
      stopped.set(op.id, { failed: error });
    };
    const orphans: string[] = [];
    let wroteAny = false;
    try {
      for (const round of rounds) {
        const ops: Op[] = [];
        const fields: AuditCommandFields[] = [];
        const lines: object[] = [];
        for (const op of round) {
          const stop = stopped.get(op.id);
          if (stop) {
            if ('failed' in stop) fail(op, stop.failed);
            continue;
          }
          const line = this.bulkLines(op);
          if (!line) {
            stopped.set(op.id, { conflict: true });
            continue;
          }
          ops.push(op);
          fields.push(op.kind === 'create' ? auditCommandFields(op.item.doc) : this.book.get(op.id)!.command);
          lines.push(...line);
        }
        if (ops.length === 0) continue;
        // Every audit record travels in the same request as its write: if the request is cut and
        // runs anyway (a frozen cluster that wakes up), or courier dies before the answer, the
        // write is not without its records. A record of a write that did not go through is
        // removed once the answer says so.
        const records = ops.flatMap((op, i) =>
          (op.kind === 'create' ? [creationRecord(op, fields[i]!)] : changeRecords(op, this.book.get(op.id)!, fields[i]!)).map((record) => ({ at: i, record })),
        );
        for (const { record } of records) lines.push({ create: { _index: this.names.audit, _id: record.id } }, record.source);
        const answer = await this.bulk(lines, ops.length + records.length);
        if (answer.error !== undefined && !wroteAny && answer.results.every((r) => !r || !isWritten(r))) {
          throw toWriteError(answer.error); // nothing of the batch is known to be written: it failed as a whole
        }
        const went = ops.map((op, i) => {
          const result = answer.results[i];
          const settled: Settled = result ? this.settle(op, result, outcome) : { failed: toWriteError(answer.error) };
          if ('written' in settled) {
            wroteAny = true;
            if (op.kind === 'change') {
              for (const { item } of [...op.earlier, op]) if (item.membership) memberships.push({ change: item.membership, command: fields[i]! });
            }
            return true;
          }
          if ('failed' in settled) fail(op, settled.failed);
          else stopped.set(op.id, settled);
          return false;
        });
        records.forEach(({ at, record }, k) => {
          const result = answer.results[ops.length + k];
          const recorded = result !== undefined && (isWritten(result) || result.status === 409);
          // Written without its record (the audit index refused it): written after, as any other.
          if (went[at] && !recorded) audits.push(record);
          // A record this request made of a write that did not happen (a conflict, a refusal) goes.
          if (!went[at] && result !== undefined && isWritten(result)) orphans.push(record.id);
        });
      }
    } finally {
      // Only changes that went through are audited, including when a later round failed. They
      // are durable already: an audit write that fails is logged, never the batch's failure.
      if (audits.length > 0) {
        await this.writeAudit(audits).catch((err: unknown) => this.logger.error({ err, records: audits.map((a) => a.id) }, 'audit records could not be written'));
      }
      if (orphans.length > 0) await this.removeAudit(orphans);
      await this.applyMemberships(memberships);
    }
    return outcome;
  }

  /**
   * The batch's membership changes: several agents' at once (a set-group to a large group must not
   * hold the next batch for a round trip per agent), each agent's in order (its updates are
   * conditioned on the version read).
   */
  private async applyMemberships(memberships: { change: MembershipChange; command: AuditCommandFields }[]): Promise<void> {
    const perAgent = new Map<string, { change: MembershipChange; command: AuditCommandFields }[]>();
    for (const membership of memberships) {
      const changes = perAgent.get(membership.change.agent_id);
      if (changes) changes.push(membership);
      else perAgent.set(membership.change.agent_id, [membership]);
    }
    const agents = [...perAgent.values()];
    for (let i = 0; i < agents.length; i += MEMBERSHIP_WRITES_AT_ONCE) {
      await Promise.all(
        agents.slice(i, i + MEMBERSHIP_WRITES_AT_ONCE).map(async (changes) => {
          for (const membership of changes) await this.applyMembership(membership);
        }),
      );
    }
  }

  /**
   * A membership change whose transition is durable: tried again for a while when the cluster
   * fails (setting the same groups twice is harmless), then its loss is logged, as for audit records.
   */
  private async applyMembership({ change, command }: { change: MembershipChange; command: AuditCommandFields }): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await writeMembership(this.options.agents, (audits) => this.writeAudit(audits), change, command);
        return;
      } catch (err) {
        if (!isStoreFailure(err) || attempt >= 8) {
          this.logger.error({ err, agent_id: change.agent_id, document_id: change.document_id }, 'the groups a set-group command set could not be written');
          return;
        }
      }
      await sleep(Math.min(5000, 100 * 2 ** attempt));
    }
  }

  /** Audit records of creations that did not happen: removed, or logged if they cannot be. */
  private async removeAudit(ids: string[]): Promise<void> {
    try {
      await this.client.bulk({ body: ids.map((id) => ({ delete: { _index: this.names.audit, _id: id } })) });
    } catch (err) {
      this.logger.error({ err, records: ids }, 'audit records of creations that did not happen could not be removed');
    }
  }

  /** The bulk action and document of one write; null when a change has no known version to condition on. */
  private bulkLines(op: Op): object[] | null {
    const { commands } = this.names;
    if (op.kind === 'create') {
      return [{ create: { _index: commands, _id: op.id } }, newCommandSource(op.item.doc, op.item.audit.at)];
    }
    const entry = this.book.get(op.id);
    if (!entry) {
      // Never read or adopted here (or already finished): the runtime re-reads it.
      this.logger.warn({ document_id: op.id }, 'status change of a command with no known version; re-reading it');
      return null;
    }
    return [
      { update: { _index: commands, _id: op.id, if_seq_no: entry.seqNo, if_primary_term: entry.primaryTerm } },
      { doc: changeSource(op.item, entry, this.options.resultDataAsText()) },
    ];
  }

  /** Records one write's answer in the outcome and the version book. */
  private settle(op: Op, result: BulkResult, outcome: WriteOutcome): Settled {
    if (isWritten(result)) {
      const version = { seqNo: result._seq_no!, primaryTerm: result._primary_term! };
      if (op.kind === 'create') {
        outcome.created[op.index] = true;
        this.book.set(op.id, entryOf(op.item.doc, version));
      } else {
        for (const { index } of [...op.earlier, op]) outcome.changes[index] = 'ok';
        const entry = this.book.get(op.id)!;
        if (FINAL_STATUSES.has(op.item.status)) this.book.forget(op.id);
        else this.book.set(op.id, { ...entry, ...version });
      }
      return { written: version };
    }
    // 409: it exists already (create) or someone changed it first (change); 404: it is gone.
    if (result.status === 409 || (op.kind === 'change' && result.status === 404)) return { conflict: true };
    const detail = `${op.kind} ${op.id}: HTTP ${result.status} ${result.error?.type ?? ''} ${result.error?.reason ?? ''}`.trim();
    if (isTransient(result)) return { failed: errors.STORE_UNAVAILABLE(detail) };
    if (op.kind === 'create') return { failed: errors.STORE_REJECTED(detail) };
    // A change the cluster will never accept (e.g. a mapping that refuses it): retrying would wedge
    // every later write, so it is dropped and the runtime re-reads the stored state instead.
    this.logger.error({ document_id: op.id, detail }, 'the cluster refused a status change; taking the stored state');
    return { conflict: true };
  }

  /** One `_bulk` request; items that failed for a transient reason are tried again a few times. */
  private async bulk(lines: object[], count: number): Promise<BulkAnswer> {
    const results = new Array<BulkResult | undefined>(count);
    let pending = Array.from({ length: count }, (_, i) => i);
    for (let attempt = 0; ; attempt++) {
      let items: Record<string, BulkResult>[];
      try {
        const res = await this.client.bulk({ body: pending.flatMap((i) => [lines[2 * i]!, lines[2 * i + 1]!]) });
        items = (res.body as unknown as { items: Record<string, BulkResult>[] }).items;
      } catch (error) {
        // Items answered by an earlier attempt keep their answers; the pending ones have none.
        return { results, error };
      }
      const retry: number[] = [];
      items.forEach((item, k) => {
        const result = Object.values(item)[0]!;
        if (isTransient(result) && attempt < ITEM_RETRIES) retry.push(pending[k]!);
        else results[pending[k]!] = result;
      });
      if (retry.length === 0) return { results };
      pending = retry;
      await sleep(100 * 2 ** attempt);
    }
  }

  /**
   * Audit documents have deterministic ids (`<document_id>:<_seq_no after the change>`) and are
   * created, never overwritten: writing one twice is harmless. The change they record is already
   * durable, so they are retried for a while; if the cluster stays away, the loss is logged.
   */
  async writeAudit(audits: { id: string; source: AuditSource }[]): Promise<void> {
    let pending = audits;
    for (let attempt = 0; pending.length > 0; attempt++) {
      try {
        const res = await this.client.bulk({
          body: pending.flatMap(({ id, source }) => [{ create: { _index: this.names.audit, _id: id } }, source]),
        });
        const items = (res.body as unknown as { items: Record<string, BulkResult>[] }).items;
        const failed = pending.filter((_, k) => {
          const status = Object.values(items[k]!)[0]!.status;
          return status !== 201 && status !== 409;
        });
        pending = failed;
      } catch (error) {
        if (!isUnavailable(error)) throw toCourierError(error);
      }
      if (pending.length === 0) return;
      if (attempt >= 8) {
        this.logger.error({ records: pending.map((a) => a.id) }, 'audit records could not be written');
        return;
      }
      await sleep(Math.min(5000, 100 * 2 ** attempt));
    }
  }
}

/**
 * The audit records of a write of changes, one per transition, written in the same request: named
 * by the version the write is conditioned on and the node that makes it
 * (`<document_id>:<primary term>.<_seq_no>:<node>`; `…-1`, `…-2` for the changes it merged before
 * the last), so that two nodes changing one command from one version never name the same record,
 * and a retry of the same write names the one it made before. All have that `_seq_no` as their
 * `order`, which grows along a command's writes; a trail read breaks ties by time, then write order.
 */
function changeRecords(op: Extract<Op, { kind: 'change' }>, from: DocVersion, fields: AuditCommandFields): { id: string; source: AuditSource }[] {
  const merged = op.earlier.length;
  const base = `${op.id}:${from.primaryTerm}.${from.seqNo}:${op.item.audit.node}`;
  return [...op.earlier, op].map(({ item }, k) => ({
    id: k === merged ? base : `${base}-${merged - k}`,
    source: auditSource(item.audit, from.seqNo, fields),
  }));
}

/**
 * The audit record of a creation: its id is fixed (`<document_id>:created`), so that writing it
 * again (a retry of a create whose outcome was unknown) is harmless, and it sorts first in the
 * command's trail (`order` -1: before any `_seq_no` of the command).
 */
function creationRecord(op: Extract<Op, { kind: 'create' }>, fields: AuditCommandFields): { id: string; source: AuditSource } {
  return { id: `${op.id}:created`, source: auditSource(op.item.audit, -1, fields) };
}
