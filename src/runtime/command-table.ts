import type { Logger } from 'pino';
import type { CommandMachineEvent } from '../../machines/command.machine.js';
import type { CommandState } from '../domain/command.js';
import type { CommandStore } from '../store/store.js';
import type { Clock } from './clock.js';
import { acceptsEvent, isFinalStatus } from './command-states.js';
import { DeadlineQueue } from './deadline-queue.js';
import { LiveCommand, type CommandLifecycle, type WriteOutcome } from './live-command.js';

export interface CommandTableOptions {
  store: CommandStore;
  clock: Clock;
  logger: Logger;
  node: string;
  /** Whether the supervisor still runs (re-reads after refused writes stop with it). */
  running: () => boolean;
  /** Every due deadline is handed here (the supervisor sends `DEADLINE` to its command). */
  onDeadlines: (ids: string[]) => void;
}

/** What the dispatcher does when a command becomes live or is forgotten. */
export interface CommandTableHooks {
  /** A command became live in a `queued` state: put it on its route. */
  queue(command: LiveCommand): void;
  /** A command was forgotten: no connection of ours holds it any more. */
  forgotten(command: LiveCommand): void;
  /** Whether a connection of this node holds it, handed out and not yet confirmed. */
  inFlight(documentId: string): boolean;
  /** Whether this node holds a command read from the store (see `RouteAffinity`). */
  holds(state: CommandState, now: number): boolean;
  /** Whether this node keeps holding a live command it is doing nothing with (see `shed`). */
  keeps(live: LiveCommand, now: number): boolean;
}

/**
 * The live commands of this node: one `LiveCommand` per unfinished command, made live from the
 * store (recovery, the poller, a conflict's re-read) or at creation, forgotten when final. It also
 * holds their deadlines, and tracks the writes under way per command: while one is unsettled the
 * store's view is older than ours, and a write another writer beat is followed by a re-read.
 */
export class CommandTable {
  private readonly live = new Map<string, LiveCommand>();
  private readonly deadlines: DeadlineQueue;
  /** Per command: status writes requested and not yet settled. */
  private readonly unsettled = new Map<string, number>();
  /** Per command: the re-read after a write conflict, while it runs. */
  private readonly reconciling = new Map<string, Promise<void>>();

  constructor(
    private readonly options: CommandTableOptions,
    private readonly lifecycle: CommandLifecycle,
    private readonly hooks: CommandTableHooks,
  ) {
    this.deadlines = new DeadlineQueue(
      () => options.clock.now(),
      (due) => options.onDeadlines(due.map((d) => d.id)),
      // The deadlines of a command that is no longer live can never matter.
      ({ id }) => !this.live.has(id),
    );
  }

  get size(): number {
    return this.live.size;
  }

  get(documentId: string): LiveCommand | undefined {
    return this.live.get(documentId);
  }

  values(): IterableIterator<LiveCommand> {
    return this.live.values();
  }

  /** Whether the command is live and waiting on its route (the route queue skips the others). */
  isQueued(documentId: string): boolean {
    return this.live.get(documentId)?.hasTag('queued') ?? false;
  }

  /**
   * Makes a command live in its current state: its deadlines armed, queued if its state is. A
   * command whose times are not times (a store bug: stores read dates into finite ms) is logged
   * and left out, so that it can neither stall the deadline queue nor stop the recovery or the
   * poll that brought it.
   */
  adopt(state: CommandState): LiveCommand | null {
    const { doc } = state;
    let live: LiveCommand;
    try {
      live = new LiveCommand(doc, state, this.lifecycle);
    } catch (err) {
      this.options.logger.error({ err, document_id: doc.document_id }, 'command not run: its times are unusable');
      return null;
    }
    this.live.set(doc.document_id, live);
    this.options.store.adopted?.(state);
    this.deadlines.add(live.deliveryDeadline, doc.document_id);
    if (state.executionDeadline !== null) this.deadlines.add(state.executionDeadline, doc.document_id);
    if (live.hasTag('queued')) this.hooks.queue(live);
    return live;
  }

  armDeadline(at: number, documentId: string): void {
    this.deadlines.add(at, documentId);
  }

  /** Forgets a live command (its queue entry is skipped lazily), and so does the store. */
  forget(live: LiveCommand): void {
    this.hooks.forgotten(live);
    live.stop();
    const id = live.doc.document_id;
    if (this.live.get(id) === live) this.live.delete(id);
    this.options.store.released?.(id);
  }

  /** Sends an event to a live command; its write, or null if not live or the event was not taken. */
  send(documentId: string, event: CommandMachineEvent): Promise<WriteOutcome> | null {
    return this.live.get(documentId)?.send(event) ?? null;
  }

  /**
   * Sends an event and waits for its write. When another writer changed the command first, the
   * command is re-read and the event sent again to the stored state (a result reported to this
   * node for a command another node moved on must not be lost). `outcome` null: not accepted;
   * `target`: the live command the last attempt went to.
   */
  async sendUntilStored(documentId: string, event: () => CommandMachineEvent): Promise<{ outcome: WriteOutcome | null; target: LiveCommand | undefined }> {
    for (let attempt = 0; ; attempt++) {
      const target = this.live.get(documentId);
      const written = this.send(documentId, event());
      if (!written) return { outcome: null, target };
      const outcome = await written;
      if (outcome === 'ok' || attempt >= 3) return { outcome, target };
      await this.reconciling.get(documentId);
    }
  }

  /** Resolves once the re-read after a write conflict of `documentId`, if one runs, is done. */
  async reconciled(documentId: string): Promise<void> {
    await this.reconciling.get(documentId);
  }

  /** Follows a write of a transition of `documentId` until it settles (see the class comment). */
  track(documentId: string, written: Promise<WriteOutcome>): Promise<WriteOutcome> {
    this.unsettled.set(documentId, (this.unsettled.get(documentId) ?? 0) + 1);
    const settled = () => {
      const left = (this.unsettled.get(documentId) ?? 1) - 1;
      if (left > 0) this.unsettled.set(documentId, left);
      else this.unsettled.delete(documentId);
    };
    void written.then(
      (outcome) => {
        settled();
        if (outcome === 'conflict') this.startReconcile(documentId);
      },
      () => {
        // The store refused the transition (logged by the batcher): the stored state is the truth.
        // (Or a shutdown gave up on writing: the restart reads the stored state anyway.)
        settled();
        if (this.options.running()) this.startReconcile(documentId);
      },
    );
    return written;
  }

  /** Unfinished commands as the store had them at start: made live, and those left `sent` here or by a lapsed claim recovered. */
  recover(unfinished: CommandState[]): void {
    const now = this.options.clock.now();
    for (const state of unfinished) {
      if (!this.hooks.holds(state, now)) continue;
      this.adopt(state);
      // Handed to a connection by this node before the restart and never confirmed (or claimed by
      // a node whose claim has expired): deliver it again.
      if (acceptsEvent(state.status, 'RECOVER') && (!state.claim || state.claim.node === this.options.node || state.claim.until <= now)) {
        void this.send(state.doc.document_id, { type: 'RECOVER', at: now });
      }
    }
  }

  /**
   * Makes a stored state live, replacing the live command. Skipped while a write of this node for
   * the command is unsettled (its outcome decides: a conflict re-reads). Unless `force`d (after a
   * conflict, when the live command holds a transition the store refused), also skipped when the
   * stored status is the live one and no claim lapsed, or the command is in flight here. A command
   * this node does not hold (see `RouteAffinity`) is let go, unless `pin`ned (see `pin`).
   */
  take(state: CommandState, now: number, force: boolean, pin = false): void {
    const id = state.doc.document_id;
    const live = this.live.get(id);
    if (live) {
      if (this.unsettled.has(id)) return;
      if (!force) {
        if (live.status === state.status && !claimLapsed(state, now)) return;
        // Our own claim, handed to a connection and not yet confirmed: our view is newer.
        if (state.claim?.node === this.options.node && this.hooks.inFlight(id)) return;
      }
      this.forget(live);
    }
    if (isFinalStatus(state.status) || (!pin && !this.hooks.holds(state, now))) return;
    this.adopt(state);
    // Claimed by a node whose lease ran out (or by a Wazuh server, which claims nothing): deliver it again.
    if (claimLapsed(state, now)) void this.send(id, { type: 'LEASE_EXPIRED', at: now });
  }

  /** Stops every live command and the deadline timer. */
  clear(): void {
    this.deadlines.stop();
    for (const live of this.live.values()) live.stop();
    this.live.clear();
  }

  /**
   * Reads from the store the commands among `ids` that are not live here (another node changed
   * them and this node's tail has not seen it yet), and makes the unfinished ones live.
   */
  async fetch(ids: readonly string[]): Promise<void> {
    const states = await Promise.all(ids.filter((id) => !this.live.has(id)).map((id) => this.options.store.getCommand(id)));
    for (const state of states) this.pin(state);
  }

  /**
   * An operation of this node (a cancel, a result, an ack) is about to act on this command, read
   * from the store: it is made live if unfinished and not live yet, whether or not this node holds
   * it (on a cluster, see `RouteAffinity`; the next shed lets it go again).
   */
  pin(state: CommandState | null): void {
    if (!state || !this.options.running() || this.live.has(state.doc.document_id)) return;
    this.take(state, this.options.clock.now(), false, true);
  }

  /**
   * Lets go of the live commands this node no longer holds (their route is served elsewhere or
   * nowhere, see `RouteAffinity`) and is doing nothing with: no write of theirs unsettled, none
   * in flight to a connection. Returns how many.
   */
  shed(now: number): number {
    let shed = 0;
    for (const live of this.live.values()) {
      const id = live.doc.document_id;
      if (this.unsettled.has(id) || this.reconciling.has(id) || this.hooks.inFlight(id) || this.hooks.keeps(live, now)) continue;
      this.forget(live);
      shed++;
    }
    return shed;
  }

  /** A write of this command conflicted: re-read it once the re-reads already under way are done. */
  private startReconcile(documentId: string): void {
    const run = (this.reconciling.get(documentId) ?? Promise.resolve())
      .then(() => this.reconcile(documentId))
      .catch((err: unknown) => this.options.logger.error({ err, document_id: documentId }, 'cannot re-read a command after a conflict'))
      .finally(() => {
        if (this.reconciling.get(documentId) === run) this.reconciling.delete(documentId);
      });
    this.reconciling.set(documentId, run);
  }

  /** Another writer changed the command first: take the stored state as the truth. */
  private async reconcile(documentId: string): Promise<void> {
    let state: CommandState | null = null;
    // The store may be briefly unavailable; the poller's re-scan catches up if it stays away longer.
    for (let attempt = 0; ; attempt++) {
      try {
        state = await this.options.store.getCommand(documentId);
        break;
      } catch (error) {
        if (attempt >= 4 || !this.options.running()) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
    if (!this.options.running()) return;
    if (state) this.take(state, this.options.clock.now(), true);
    else {
      const live = this.live.get(documentId);
      if (live && !this.unsettled.has(documentId)) this.forget(live);
    }
  }
}

/** A claimed command whose claim ran out (or that nobody claimed: a Wazuh server wrote `sent`). */
function claimLapsed(state: CommandState, now: number): boolean {
  return acceptsEvent(state.status, 'LEASE_EXPIRED') && (!state.claim || state.claim.until <= now);
}
