import type { CommandStore, StatusChange, TransitionRecord, WriteBatch, WriteOutcome } from '../store/store.js';
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
  /** Called once when commits start failing and once when they succeed again. */
  onHealthChange?: (healthy: boolean, error?: unknown) => void;
  /** Back-off between retries of a failed batch of status changes (ms). */
  retryDelayMs?: (attempt: number) => number;
  /** Called after each successful commit (e.g. to wake live feeds of the audit trail). */
  onCommitted?: () => void;
  /** Called when `onCommitted` throws (the commit stands regardless). */
  onListenerError?: (error: unknown) => void;
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
 * A failed commit rejects its creates (the producer is told; nothing was acknowledged) and
 * retries its status changes until they are written, because they record transitions the
 * actors have already made: dropping them would lose history. When the store wrote only part
 * of a batch, each write is settled for itself: what was written is never written again, only
 * the changes that failed are retried, and only the calls whose creates failed are rejected.
 */
export class WriteBatcher {
  private queue: Pending = { creates: [], changes: [] };
  private scheduled = false;
  private committing = false;
  private healthy = true;
  private failures = 0;
  /** Every write gets the next ticket; a barrier waits for every ticket up to its own. */
  private requested = 0;
  private barriers: { ticket: number; resolve: () => void }[] = [];

  constructor(
    private readonly store: CommandStore,
    private readonly options: WriteBatcherOptions,
  ) {}

  /** Writes new commands, all in one transaction; resolves per command: false if its id already existed. */
  create(items: { doc: CommandDocument; audit: TransitionRecord }[]): Promise<boolean[]> {
    return new Promise((resolve, reject) => {
      this.queue.creates.push({ items, settle: { resolve, reject }, ticket: ++this.requested });
      this.schedule();
    });
  }

  change(change: StatusChange): Promise<'ok' | 'conflict'> {
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

  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
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
        const batch = this.take();
        let outcome: WriteOutcome;
        try {
          outcome = await this.store.commit({
            creates: batch.creates.flatMap((c) => c.items),
            changes: batch.changes.map((c) => c.item),
          });
        } catch (error) {
          // Nothing was written.
          this.markHealthy(false, error);
          for (const c of batch.creates) c.settle.reject(error);
          await this.retryLater(batch.changes);
          this.releaseBarriers();
          continue;
        }
        // Written, wholly or in part: from here on nothing written may be put back in the queue.
        const failed = outcome.failed;
        const firstFailure = failed && [...failed.creates.values(), ...failed.changes.values()][0];
        this.markHealthy(firstFailure === undefined, firstFailure);
        let offset = 0;
        for (const unit of batch.creates) {
          settleCreates(unit, outcome.created.slice(offset, offset + unit.items.length), failed?.creates, offset);
          offset += unit.items.length;
        }
        const retry: Pending['changes'] = [];
        batch.changes.forEach((c, i) => (failed?.changes.has(i) ? retry.push(c) : c.settle.resolve(outcome.changes[i] ?? 'ok')));
        try {
          this.options.onCommitted?.();
        } catch (error) {
          this.options.onListenerError?.(error);
        }
        if (retry.length > 0) await this.retryLater(retry);
        this.releaseBarriers();
      }
    } finally {
      this.committing = false;
      this.releaseBarriers();
    }
  }

  /** Puts changes back in front, in order, and waits before trying again. */
  private async retryLater(changes: Pending['changes']): Promise<void> {
    this.queue.changes.unshift(...changes);
    const delay = this.options.retryDelayMs?.(this.failures) ?? Math.min(5000, 50 * 2 ** this.failures);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  private markHealthy(ok: boolean, error?: unknown): void {
    this.failures = ok ? 0 : this.failures + 1;
    if (ok === this.healthy) return;
    this.healthy = ok;
    this.options.onHealthChange?.(ok, error);
  }
}

/** Resolves one `create` call, or rejects it when a create of it failed (the store wrote the others: see `CreatesPartlyFailed`). */
function settleCreates(unit: Pending['creates'][number], created: boolean[], failures: Map<number, unknown> | undefined, offset: number): void {
  const failed = created.findIndex((_, k) => failures?.has(offset + k));
  if (failed < 0) return unit.settle.resolve(created);
  const error = failures!.get(offset + failed);
  unit.settle.reject(created.some(Boolean) ? new CreatesPartlyFailed(error, created) : error);
}
