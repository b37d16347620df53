import { createActor, fromPromise, type Actor, type SnapshotFrom } from 'xstate';
import type { Logger } from 'pino';
import { backoffMs, indexerPollerMachine } from '../../machines/indexer-poller.machine.js';
import type { LiveStateTally } from '../domain/live-states.js';
import type { CommandState } from '../domain/command.js';
import type { IndexerSource, TailCursor } from './indexer-source.js';
import { unansweredFor } from '../domain/unanswered.js';

export interface IndexerPollerOptions {
  source: IndexerSource;
  /** Hands commands changed by others to the supervisor (`Supervisor.observe`). */
  observe(states: CommandState[]): void;
  /**
   * The routes whose commands this node holds (`Supervisor.servedRoutes`), read at each tail after
   * its refresh; null: every command. The tail asks the cluster for those only.
   */
  routes?: () => readonly string[] | null;
  /** This node's name: each node keeps its own cursor. */
  node: string;
  logger: Logger;
  pollIntervalMs: number;
  rescanIntervalMs: number;
  pageSize: number;
  /** Longest back-off while the cluster fails (default: 10 poll intervals, within 5–30 s). */
  maxBackoffMs?: number;
  random?: () => number;
}

export interface PollerHealth {
  /** The last read succeeded. */
  ok: boolean;
  state: string;
  /** Failed reads in a row. */
  failures: number;
  /** Why it is not ok. */
  reason: string | null;
  /** The `_seq_no` up to which the tail has read. */
  cursor: number | null;
}

/**
 * Runs the indexer-poller machine: tails `wazuh-commands` by `_seq_no` past a cursor kept in the
 * cluster (one per node), and re-scans it periodically, handing what changed to the supervisor.
 *
 * The cursor only ever moves past pages that were read completely, and never past the index's
 * global checkpoint (below it no write is still in flight, so none can appear later with a smaller
 * `_seq_no`). A failed or partial read leaves it where it was; the machine backs off and retries.
 */
export class IndexerPoller {
  private cursor: TailCursor | null = null;
  private persisted: TailCursor | null = null;
  private actor: Actor<typeof indexerPollerMachine> | null = null;
  private stopping = false;
  private inFlight: Promise<unknown> | null = null;
  private healthy = true;
  /** When the read under way started (`performance.now()`), or null between reads. */
  private readingSince: number | null = null;

  constructor(private readonly options: IndexerPollerOptions) {}

  /**
   * Reads this node's cursor. On the first start on an index it begins at the current checkpoint:
   * the supervisor's recovery, which must run after this, loads everything unfinished before it.
   */
  async prepare(): Promise<void> {
    const { source, node, logger } = this.options;
    const stored = await source.readCursor(node);
    const { indexUuid, checkpoint } = await source.checkpoint();
    if (stored && stored.indexUuid === indexUuid) {
      this.cursor = stored;
    } else {
      if (stored) logger.warn({ cursor: stored, indexUuid }, 'the commands index was recreated; the tail starts at its checkpoint');
      this.cursor = { indexUuid, seqNo: checkpoint };
      await source.writeCursor(node, this.cursor);
    }
    this.persisted = this.cursor;
    logger.info({ cursor: this.cursor.seqNo, checkpoint }, 'indexer poller cursor');
  }

  start(): void {
    if (!this.cursor) throw new Error('IndexerPoller.prepare() must run before start()');
    const { pollIntervalMs, rescanIntervalMs } = this.options;
    const random = this.options.random ?? Math.random;
    const maxBackoffMs = this.options.maxBackoffMs ?? Math.min(30_000, Math.max(5000, 10 * pollIntervalMs));
    const machine = indexerPollerMachine.provide({
      actors: {
        tail: fromPromise(() => this.track(this.tail())),
        rescan: fromPromise(() => this.track(this.rescan())),
      },
      // Jitter (50–100% of the delay) keeps several nodes from retrying in step.
      delays: { backoff: ({ context }) => Math.round(backoffMs(context) * (0.5 + random() / 2)) },
    });
    this.actor = createActor(machine, { input: { pollIntervalMs, rescanIntervalMs, maxBackoffMs } });
    this.actor.subscribe({
      next: (snapshot) => this.onSnapshot(snapshot),
      error: (err) => this.options.logger.error({ err }, 'indexer poller failed'),
    });
    this.actor.start();
  }

  /** Stops polling; resolves once a read in progress has ended (its results are dropped). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.actor?.send({ type: 'STOP' });
    await this.inFlight?.catch(() => {});
  }

  /** Where the poller's machine stands (for the console's live machines). */
  tallyLiveStates(tally: LiveStateTally): void {
    const snapshot = this.actor?.getSnapshot();
    if (snapshot) tally.add(indexerPollerMachine.id, 'indexer poller', snapshot.value);
  }

  health(): PollerHealth {
    const snapshot = this.actor?.getSnapshot();
    const context = snapshot?.context;
    const state = snapshot ? stateName(snapshot) : 'not started';
    // A read still unanswered after the bound says as much as a failed one: the cluster hangs.
    const hung = this.unansweredRead();
    const ok = hung === null && context !== undefined && context.failures === 0 && snapshot?.status === 'active';
    const reason = hung !== null ? `indexer poller: ${hung}` : context?.lastError ? `indexer poller: ${context.lastError}` : `indexer poller is ${state}`;
    return { ok, state, failures: context?.failures ?? 0, reason: ok ? null : reason, cursor: this.cursor?.seqNo ?? null };
  }

  /** Why the cluster cannot be relied on now (its reads fail, or one hangs), or null; a stopped poller is not a problem of the cluster. */
  clusterProblem(): string | null {
    const health = this.health();
    return this.unansweredRead() !== null || health.failures > 0 ? health.reason : null;
  }

  /** The read under way, if the cluster has left it unanswered too long, said as a reason. */
  private unansweredRead(): string | null {
    return this.readingSince === null ? null : unansweredFor('read', performance.now() - this.readingSince);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const since = (this.readingSince = performance.now());
    const tracked = work
      .catch((error: unknown) => {
        throw new Error(this.options.source.describeError(error));
      })
      .finally(() => {
        if (this.readingSince === since) this.readingSince = null;
      });
    this.inFlight = tracked;
    return tracked;
  }

  private async tail(): Promise<void> {
    const { source, pageSize, node, logger } = this.options;
    const { indexUuid, checkpoint } = await source.checkpoint();
    let cursor = this.cursor!;
    if (cursor.indexUuid !== indexUuid) {
      logger.warn({ cursor, indexUuid }, 'the commands index was recreated; tailing it from its start');
      cursor = this.cursor = { indexUuid, seqNo: -1 };
    }
    if (checkpoint > cursor.seqNo) {
      // A document is invisible to search until a refresh: make everything up to the checkpoint visible.
      await source.refreshCommands();
      // Read after the refresh: a route that starts being served later has its commands read by the
      // supervisor then, and everything up to the checkpoint is visible to that read.
      const routes = this.options.routes?.() ?? undefined;
      while (cursor.seqNo < checkpoint) {
        const page = await source.tailPage(cursor.seqNo, checkpoint, pageSize, routes);
        if (this.stopping) return;
        if (page.states.length > 0) this.options.observe(page.states);
        // A short page was the last one: everything up to the checkpoint has been read.
        cursor = this.cursor = { indexUuid, seqNo: page.hits < pageSize ? checkpoint : page.lastSeqNo! };
      }
    }
    if (cursor.seqNo !== this.persisted?.seqNo || cursor.indexUuid !== this.persisted.indexUuid) {
      await source.writeCursor(node, cursor);
      this.persisted = cursor;
    }
  }

  private async rescan(): Promise<void> {
    const routes = this.options.routes?.() ?? undefined;
    for await (const states of this.options.source.rescan(this.options.pageSize, routes)) {
      if (this.stopping) return;
      if (states.length > 0) this.options.observe(states);
    }
  }

  /** Logs once when reads start failing and once when they work again, not on every attempt. */
  private onSnapshot(snapshot: SnapshotFrom<typeof indexerPollerMachine>): void {
    const healthy = snapshot.context.failures === 0;
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    if (healthy) this.options.logger.info('indexer poller: reading the cluster again');
    else this.options.logger.error({ reason: snapshot.context.lastError }, 'indexer poller: cannot read the cluster; backing off');
  }
}

function stateName(snapshot: SnapshotFrom<typeof indexerPollerMachine>): string {
  if (snapshot.status === 'done') return 'stopped';
  const value = snapshot.value as { active?: { poll?: string } };
  return value.active?.poll ?? 'stopped';
}
