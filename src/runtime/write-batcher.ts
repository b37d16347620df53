import { isStoreFailure, type CommandStore, type StatusChange, type WriteBatch, type WriteOutcome } from '../store/store.js';
import type { TransitionRecord } from '../store/records.js';
import { errors } from '../errors.js';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { CommandDocument } from '../domain/command.js';

type Settle<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };

type CreateItem = WriteBatch['creates'][number];

interface Pending {
  /** Each unit is the creates of one submission: never split across transactions. */
  creates: { items: CreateItem[]; settle: Settle<boolean[]>; ticket: number }[];
  changes: { item: StatusChange; settle: Settle<'ok' | 'conflict'>; ticket: number }[];
}

export interface WriteBatcherOptions {
  /** Most writes in one transaction. */
  maxBatch: number;
  /**
   * The least time between the starts of two commits (ms; 0: none). A store whose every commit is
   * a request with a high fixed cost (a cluster: an HTTP request, a translog sync) takes the writes
   * of this long in one commit instead of one commit per write at a modest rate. Under load, when a
   * commit takes longer than this, nothing waits.
   */
  commitIntervalMs?: number;
  /** Called once when commits start failing and once when they succeed again. */
  onHealthChange?: (healthy: boolean, error?: unknown) => void;
  /** Back-off between retries of a failed batch of status changes (ms). */
  retryDelayMs?: (attempt: number) => number;
  /** Called after each successful commit (e.g. to wake live feeds of the audit trail). */
  onCommitted?: () => void;
  /** Called when `onCommitted` throws (the commit stands regardless). */
  onListenerError?: (error: unknown) => void;
  /** Called when the store refused writes for what they hold (`ids`: their commands); they are not retried. */
  onRefused?: (error: unknown, ids: string[]) => void;
  /** A write of no meaning that tells whether the store takes writes again (see `probeUntilHealthy`). */
  probe?: () => Promise<void>;
}

/**
 * Some creates of one `create` call were written and others not (a store that cannot write a
 * batch as one transaction, see `WriteOutcome.failed`). The call is rejected with this: `created`
 * says which were written (those are durable, and audited), `error` why the first other was not.
 */
export class CreatesPartlyFailed extends Error {
  constructor(
    readonly error: unknown,
    readonly created: boolean[],
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'CreatesPartlyFailed';
  }
}

/**
 * Group commit: every write requested during one turn of the event loop goes into the store
 * as one transaction. Writes are committed in the order they were requested.
 *
 * When the store fails (unavailable, full: `isStoreFailure`), a commit rejects its creates (the
 * producer is told; nothing was acknowledged) and retries its status changes until they are
 * written, because they record transitions the actors have already made: dropping them would
 * lose history. When the store refuses a write for what it holds, only that write is refused
 * (see `write`): one bad write never holds up the others. When the store wrote only part of a
 * batch, each write is settled for itself: what was written is never written again, only the
 * changes that failed are retried, and only the calls whose creates failed are rejected.
 */
export class WriteBatcher {
  private queue: Pending = { creates: [], changes: [] };
  private scheduled = false;
  private committing = false;
  /** When the last commit started (`performance.now()`). */
  private lastCommitAt = -Infinity;
  private healthy = true;
  private failures = 0;
  private probing = false;
  /** When the commit under way started (`performance.now()`), or null. */
  private committingSince: number | null = null;
  /** Every write gets the next ticket; a barrier waits for every ticket up to its own. */
  private requested = 0;
  private barriers: { ticket: number; resolve: () => void }[] = [];
  /** Set by `abandon`: every write from then on is rejected with it. */
  private abandoned: Error | undefined = undefined;
  /** Ends the back-off wait between two retries early (see `abandon`). */
  private wakeRetry: (() => void) | null = null;

  constructor(
    private readonly store: CommandStore,
    private readonly options: WriteBatcherOptions,
  ) {}

  /** Writes new commands, all in one transaction; resolves per command: false if its id already existed. */
  create(items: { doc: CommandDocument; audit: TransitionRecord }[]): Promise<boolean[]> {
    if (this.abandoned !== undefined) return Promise.reject(this.abandoned);
    return new Promise((resolve, reject) => {
      this.queue.creates.push({ items, settle: { resolve, reject }, ticket: ++this.requested });
      this.schedule();
    });
  }

  change(change: StatusChange): Promise<'ok' | 'conflict'> {
    if (this.abandoned !== undefined) return Promise.reject(this.abandoned);
    return new Promise((resolve, reject) => {
      this.queue.changes.push({ item: change, settle: { resolve, reject }, ticket: ++this.requested });
      this.schedule();
    });
  }

  /** Resolves once every write requested before this call has been settled (read-your-writes). */
  barrier(): Promise<void> {
    const ticket = this.requested;
    return new Promise((resolve) => {
      this.barriers.push({ ticket, resolve });
      if (!this.committing) this.releaseBarriers();
    });
  }

  /** How long the commit under way has waited for the store (0: none under way). */
  get unansweredForMs(): number {
    return this.committingSince === null ? 0 : performance.now() - this.committingSince;
  }

  /** What was requested and is not written yet: writes, and the commands they are of. */
  get backlog(): { creates: number; changes: number; commands: string[] } {
    const commands = new Set([...this.queue.creates.flatMap((c) => c.items.map((i) => i.doc.document_id)), ...this.queue.changes.map((c) => c.item.document_id)]);
    return { creates: this.queue.creates.reduce((n, c) => n + c.items.length, 0), changes: this.queue.changes.length, commands: [...commands] };
  }

  /**
   * Gives up on writing (a shutdown past its deadline while the store keeps failing): every write
   * not yet written is rejected with `reason`, and so is every later one. The commit under way, if
   * any, is let finish.
   */
  abandon(reason: unknown): void {
    if (this.abandoned !== undefined) return;
    this.abandoned = reason instanceof Error ? reason : new Error(String(reason));
    this.rejectQueued();
    this.wakeRetry?.();
  }

  private rejectQueued(): void {
    const { creates, changes } = this.queue;
    this.queue = { creates: [], changes: [] };
    for (const c of creates) c.settle.reject(this.abandoned);
    for (const c of changes) c.settle.reject(this.abandoned);
    this.releaseBarriers();
  }

  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    const start = () => {
      this.scheduled = false;
      void this.flush();
    };
    const wait = this.untilNextCommit();
    if (wait > 0) setTimeout(start, wait);
    else setImmediate(start);
  }

  /** How long until the next commit may start (see `commitIntervalMs`). */
  private untilNextCommit(): number {
    const interval = this.options.commitIntervalMs ?? 0;
    return interval > 0 ? Math.max(0, this.lastCommitAt + interval - performance.now()) : 0;
  }

  private take(): Pending {
    let room = this.options.maxBatch;
    let units = 0;
    for (const unit of this.queue.creates) {
      if (units > 0 && unit.items.length > room) break;
      room -= unit.items.length;
      units++;
    }
    const creates = this.queue.creates.splice(0, units);
    const changes = this.queue.changes.splice(0, Math.max(0, room));
    return { creates, changes };
  }

  /** Called between batches: both queues are in ticket order, so their heads are the oldest unsettled writes. */
  private releaseBarriers(): void {
    const oldest = Math.min(this.queue.creates[0]?.ticket ?? Infinity, this.queue.changes[0]?.ticket ?? Infinity);
    this.barriers = this.barriers.filter((b) => {
      if (b.ticket >= oldest) return true;
      b.resolve();
      return false;
    });
  }

  private async flush(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.queue.creates.length > 0 || this.queue.changes.length > 0) {
        const { retry } = await this.write(this.take());
        if (retry.length > 0) await this.retryLater(retry);
        this.releaseBarriers();
        // A store that commits synchronously (SQLite) would otherwise drain a backlog of many
        // batches in one turn of the event loop: 20,000 changes held it for ~0.6 s (measured).
        if (this.queue.creates.length > 0 || this.queue.changes.length > 0) {
          const wait = this.untilNextCommit();
          await (wait > 0 ? sleep(wait) : nextTurn());
        }
      }
    } finally {
      this.committing = false;
      this.releaseBarriers();
    }
  }

  /**
   * Commits one batch and settles every write in it, except the changes to try again (returned,
   * in order). When the store refuses the batch as a whole for a reason that is not its own state
   * (see `isStoreFailure`), the fault is in what was written: the batch is split in two and each
   * half written for itself, down to the single write at fault, which is refused (its caller gets
   * the error) and never retried. The others commit.
   */
  private async write(batch: Pending): Promise<{ retry: Pending['changes']; storeFailure?: unknown }> {
    let outcome: WriteOutcome;
    const since = (this.committingSince = this.lastCommitAt = performance.now());
    try {
      outcome = await this.store.commit({
        creates: batch.creates.flatMap((c) => c.items),
        changes: batch.changes.map((c) => c.item),
      });
    } catch (error) {
      this.answered(since);
      // Nothing was written.
      if (isStoreFailure(error)) {
        this.markHealthy(false, error);
        for (const c of batch.creates) c.settle.reject(error);
        // Nothing left to try again: a probe tells when the store takes writes again.
        if (batch.changes.length === 0) void this.probeUntilHealthy();
        return { retry: batch.changes, storeFailure: error };
      }
      const halves = split(batch);
      if (!halves) {
        this.refuse(batch, error);
        return { retry: [] };
      }
      const first = await this.write(halves[0]);
      if (first.storeFailure !== undefined) {
        // The store itself failed meanwhile: the second half waits behind the first one's retries.
        for (const c of halves[1].creates) c.settle.reject(first.storeFailure);
        return { retry: [...first.retry, ...halves[1].changes], storeFailure: first.storeFailure };
      }
      const second = await this.write(halves[1]);
      return { retry: [...first.retry, ...second.retry], ...(second.storeFailure !== undefined ? { storeFailure: second.storeFailure } : {}) };
    }
    this.answered(since);
    // Written, wholly or in part: from here on nothing written may be put back in the queue.
    const failed = outcome.failed;
    const firstFailure = failed && [...failed.creates.values(), ...failed.changes.values()].find(isStoreFailure);
    this.markHealthy(firstFailure === undefined, firstFailure);
    let offset = 0;
    for (const unit of batch.creates) {
      settleCreates(unit, outcome.created.slice(offset, offset + unit.items.length), failed?.creates, offset);
      offset += unit.items.length;
    }
    const retry: Pending['changes'] = [];
    batch.changes.forEach((c, i) => {
      const error = failed?.changes.get(i);
      if (error === undefined) c.settle.resolve(outcome.changes[i] ?? 'ok');
      else if (isStoreFailure(error)) retry.push(c);
      else c.settle.reject(error); // refused for what it is: trying again would not help
    });
    try {
      this.options.onCommitted?.();
    } catch (error) {
      this.options.onListenerError?.(error);
    }
    return { retry };
  }

  /** The store will not take this one write (a create unit or a change): its caller is told, it is not retried. */
  private refuse(batch: Pending, error: unknown): void {
    const refusal = errors.STORE_REJECTED.causedBy(error, error instanceof Error ? error.message : String(error));
    this.options.onRefused?.(error, [...batch.creates.flatMap((c) => c.items.map((i) => i.doc.document_id)), ...batch.changes.map((c) => c.item.document_id)]);
    for (const c of batch.creates) c.settle.reject(refusal);
    for (const c of batch.changes) c.settle.reject(refusal);
  }

  /** Puts changes back in front, in order, and waits before trying again (unless abandoned meanwhile). */
  private async retryLater(changes: Pending['changes']): Promise<void> {
    this.queue.changes.unshift(...changes);
    if (this.abandoned !== undefined) return this.rejectQueued();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.retryDelay());
      this.wakeRetry = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeRetry = null;
    if (this.abandoned !== undefined) this.rejectQueued();
  }

  /**
   * After a failure with no write left to retry (only creates failed: their producers were told),
   * nothing would ever write again to find the store well, and it would be reported failing until
   * the next create. So a probe write is tried, with the same back-off, until the store takes it,
   * or real writes come and tell.
   */
  private async probeUntilHealthy(): Promise<void> {
    if (this.probing || !this.options.probe) return;
    this.probing = true;
    try {
      while (!this.healthy && this.abandoned === undefined) {
        await new Promise((resolve) => setTimeout(resolve, this.retryDelay()).unref());
        if (this.healthy || this.committing || this.queue.creates.length > 0 || this.queue.changes.length > 0) return;
        try {
          await this.options.probe();
          this.markHealthy(true);
        } catch (error) {
          if (!isStoreFailure(error)) return; // not the store's state: the probe itself is refused, nothing to learn
          this.markHealthy(false, error);
        }
      }
    } finally {
      this.probing = false;
    }
  }

  /** The back-off before the next try while the store fails: doubling, at most 5 s. */
  private retryDelay(): number {
    return this.options.retryDelayMs?.(this.failures) ?? Math.min(5000, 50 * 2 ** this.failures);
  }

  /** The commit started at `since` got its answer (a split batch's halves have their own). */
  private answered(since: number): void {
    if (this.committingSince === since) this.committingSince = null;
  }

  private markHealthy(ok: boolean, error?: unknown): void {
    this.failures = ok ? 0 : this.failures + 1;
    if (ok === this.healthy) return;
    this.healthy = ok;
    this.options.onHealthChange?.(ok, error);
  }
}

/** Two halves of a batch of more than one write (a create unit counts as one: it is never split), or null. */
function split(batch: Pending): [Pending, Pending] | null {
  const entries = batch.creates.length + batch.changes.length;
  if (entries < 2) return null;
  const mid = Math.floor(entries / 2);
  const creates = batch.creates.length;
  return [
    { creates: batch.creates.slice(0, mid), changes: batch.changes.slice(0, Math.max(0, mid - creates)) },
    { creates: batch.creates.slice(mid), changes: batch.changes.slice(Math.max(0, mid - creates)) },
  ];
}

/** Resolves one `create` call, or rejects it when a create of it failed (the store wrote the others: see `CreatesPartlyFailed`). */
function settleCreates(unit: Pending['creates'][number], created: boolean[], failures: Map<number, unknown> | undefined, offset: number): void {
  const failed = created.findIndex((_, k) => failures?.has(offset + k));
  if (failed < 0) return unit.settle.resolve(created);
  const error = failures!.get(offset + failed);
  unit.settle.reject(created.some(Boolean) ? new CreatesPartlyFailed(error, created) : error);
}
