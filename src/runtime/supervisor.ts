import { setImmediate as nextTurn } from 'node:timers/promises';
import { createActor, fromPromise, waitFor, type Actor, type AnyActorRef } from 'xstate';
import type { Logger } from 'pino';
import type { CommandMachineEvent } from '../../machines/command.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import type { CommandDocument, CommandSpec, CommandState, CommandView } from '../domain/command.js';
import { commandView, FINAL_STATUSES } from '../domain/command.js';
import { CourierError, errors } from '../errors.js';
import type { AuditEvent, CommandStore } from '../store/store.js';
import type { Clock } from './clock.js';
import {
  applyEvent,
  guardInspect,
  liveState,
  liveView,
  LiveCommand,
  type ActorSettings,
  statusOf,
  type InspectObserver,
  type Transition,
} from './command-actor.js';
import { commandDocument, planCommands, type CommandPlan } from './command-factory.js';
import { DeadlineQueue } from './deadline-queue.js';
import { RouteQueue } from './route-queue.js';
import { Subscription, type SubscriberTransport, type SubscriptionMode } from './subscription.js';
import { CreatesPartlyFailed, WriteBatcher } from './write-batcher.js';

export interface SupervisorOptions {
  store: CommandStore;
  clock: Clock;
  logger: Logger;
  /** This node's name, recorded in every audit record. */
  node: string;
  /** How long a delivered command may take to report a result (ms). */
  executionTimeoutMs: number;
  /** Most commands in one long-poll answer or one WebSocket frame. */
  maxCommandsPerDelivery: number;
  /** Most writes in one store transaction. */
  maxWriteBatch: number;
  /** Most commands one request may create (group targets count each member). */
  maxCommandsPerRequest: number;
  /** How long a claim (`sent`) holds before another node may deliver the command again (ms). */
  claimLeaseMs: number;
  /** Dispatch latency: from the moment a command and a subscriber of its target coexist to delivery. */
  onDelivered?: (latencyMs: number) => void;
  /** Inspection observer given to every root actor; absent (the default), no observer is attached. */
  inspect?: InspectObserver;
}

export interface SubmitOptions {
  /** Who creates the commands (`socket`, `key:<id>`): kept with each, it owns their request. */
  owner?: string;
  /** The producer's idempotency key: a retry under it names the same commands (see `planCommands`). */
  idempotencyKey?: string | undefined;
}

export interface ResultReport {
  document_id: string;
  code: number;
  message: string;
  data?: unknown;
}

export interface ResultOutcome {
  document_id: string;
  /** `recorded`: this report set the result; `ignored`: the command already had one or had ended. */
  outcome: 'recorded' | 'ignored';
  status: CommandState['status'];
  message: string;
}

const SYSTEM = 'courier';
/**
 * Commands of one request written (and made live) at a time, the event loop free between two
 * slices. 1,000 takes ~40 ms on a small machine (a transaction and its actors); 5,000 took ~200.
 */
const CREATE_SLICE = 1000;

/**
 * The supervisor: owns every live command actor and every subscription, each an independent
 * root actor held in a map (children of one machine scale quadratically). It keeps a FIFO
 * queue of pending commands per route and wakes only the routes that got work.
 *
 * Flow: an edge calls a method here -> an event is sent to an actor -> its transition is
 * persisted (batched) -> only then the side effect happens (push to a connection, answer to
 * a producer).
 */
export class Supervisor {
  private readonly live = new Map<string, LiveCommand>();
  private readonly queues = new Map<string, RouteQueue>();
  private readonly subscribers = new Map<string, Set<Subscription>>();
  /** Per command handed to a connection and not yet confirmed or failed: that subscription. */
  private readonly inFlight = new Map<string, Subscription>();
  private readonly dirtyRoutes = new Set<string>();
  private dispatchScheduled = false;
  private readonly deadlines: DeadlineQueue;
  private readonly writes: WriteBatcher;
  private readonly lifecycle: Actor<typeof supervisorMachine>;
  private seq = 0;
  private recoverError: unknown;
  /** Per command: status writes requested and not yet settled. While any is, the store's view is older than ours. */
  private readonly unsettled = new Map<string, number>();
  /** Per command: the re-read after a write conflict, while it runs. */
  private readonly reconciling = new Map<string, Promise<void>>();
  private writeProblem: { message: string; code: string } | null = null;
  private readonly commitListeners = new Set<() => void>();
  private readonly isPending = (id: string): boolean => {
    const live = this.live.get(id);
    return live !== undefined && statusOf(live) === 'pending';
  };
  private readonly onActorError = (error: unknown) => this.options.logger.error({ err: error }, 'actor error');
  private readonly inspect: InspectObserver | undefined;
  private readonly actorSettings: ActorSettings;

  constructor(private readonly options: SupervisorOptions) {
    this.deadlines = new DeadlineQueue(
      () => options.clock.now(),
      (due) => {
        for (const { id } of due) this.send(id, { type: 'DEADLINE', at: options.clock.now() }, 'deadline', SYSTEM);
      },
      // The deadlines of a command that is no longer live can never matter.
      ({ id }) => !this.live.has(id),
    );
    this.writes = new WriteBatcher(options.store, {
      maxBatch: options.maxWriteBatch,
      onCommitted: () => this.notifyCommitted(),
      onListenerError: (err) => options.logger.error({ err }, 'a commit listener failed'),
      onRefused: (err, ids) => options.logger.error({ err, document_ids: ids }, 'the store refused writes; their callers are told, the rest is written'),
      onHealthChange: (healthy, err) => {
        this.writeProblem = healthy ? null : { message: err instanceof Error ? err.message : String(err), code: err instanceof CourierError ? err.code : errors.INTERNAL.code };
        if (healthy) options.logger.info('store writes recovered');
        else options.logger.error({ err }, 'store writes failing; retrying');
      },
    });
    this.inspect = options.inspect && guardInspect(options.inspect);
    this.actorSettings = { executionTimeoutMs: options.executionTimeoutMs, onError: this.onActorError, inspect: this.inspect };
    this.lifecycle = createActor(
      supervisorMachine.provide({
        actors: {
          recover: fromPromise(() =>
            this.recover().catch((error: unknown) => {
              this.recoverError = error;
              throw error;
            }),
          ),
          drain: fromPromise(() => this.drain()),
        },
      }),
      this.inspect ? { inspect: this.inspect } : undefined,
    );
    this.lifecycle.subscribe({ error: this.onActorError });
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** Recovers unfinished commands from the store; resolves once running. */
  async start(): Promise<void> {
    this.lifecycle.start();
    const snapshot = await waitFor(this.lifecycle, (s) => s.value !== 'starting');
    if (snapshot.value === 'failed') throw this.recoverError ?? new Error('supervisor recovery failed');
  }

  /** Refuses new work, answers open subscriptions, writes everything out. */
  async stop(): Promise<void> {
    this.lifecycle.send({ type: 'STOP' });
    await waitFor(this.lifecycle, (s) => s.status === 'done');
  }

  get state(): string {
    return String(this.lifecycle.getSnapshot().value);
  }

  /** Why status writes are failing (they are being retried), or null when the last commit worked. */
  get storeWriteProblem(): { message: string; code: string } | null {
    return this.writeProblem;
  }

  /** Transitions requested and not yet written (the store is failing, or slow). */
  get writeBacklog(): { creates: number; changes: number; commands: string[] } {
    return this.writes.backlog;
  }

  /**
   * A shutdown gives up on writes the store keeps refusing: they are not written here (each
   * command is recovered from its stored state on restart, as after kill -9), and the drain ends.
   */
  abandonWrites(reason: unknown): void {
    this.writes.abandon(reason);
  }

  /** Accepting work: false from the moment `stop` is called (draining, then stopped). */
  get running(): boolean {
    return this.lifecycle.getSnapshot().value === 'running';
  }

  private async recover(): Promise<void> {
    const { store, clock, logger } = this.options;
    this.seq = await store.maxSeq();
    const unfinished = await store.loadUnfinished();
    const now = clock.now();
    for (const state of unfinished) {
      this.adopt(state);
      // Handed to a connection by this node before the restart and never confirmed (or claimed by
      // a node whose claim has expired): deliver it again.
      if (state.status === 'sent' && (!state.claim || state.claim.node === this.options.node || state.claim.until <= now)) {
        this.send(state.doc.document_id, { type: 'RECOVER', at: now }, 'recovered', SYSTEM);
      }
    }
    logger.info({ commands: unfinished.length }, 'recovered unfinished commands');
  }

  /**
   * Commands as the store now has them, changed by someone else (another node, an operator, the
   * indexer plugin): new ones become live, known ones are brought to the stored state, and a
   * claim whose lease expired is released so that the command is delivered again.
   */
  observe(states: CommandState[]): void {
    if (!this.running) return;
    const now = this.options.clock.now();
    for (const state of states) this.take(state, now, false);
    // Others' transitions are in the audit trail too: wake the live feeds.
    if (states.length > 0) this.notifyCommitted();
  }

  /** One failing listener (a live feed) must not keep the others from waking. */
  private notifyCommitted(): void {
    for (const listener of this.commitListeners) {
      try {
        listener();
      } catch (err) {
        this.options.logger.error({ err }, 'a commit listener failed');
      }
    }
  }

  /**
   * Makes a stored state live, replacing the live actor. Skipped while a write of this node for
   * the command is unsettled (its outcome decides: a conflict re-reads). Unless `force`d (after a
   * conflict, when the live actor holds a transition the store refused), also skipped when the
   * stored status is the live one and no claim lapsed, or the command is in flight here.
   */
  private take(state: CommandState, now: number, force: boolean): void {
    const id = state.doc.document_id;
    const live = this.live.get(id);
    if (live) {
      if (this.unsettled.has(id)) return;
      if (!force) {
        if (statusOf(live) === state.status && !claimLapsed(state, now)) return;
        // Our own claim, handed to a connection and not yet confirmed: our view is newer.
        if (state.claim?.node === this.options.node && this.inFlight.has(id)) return;
      }
      this.retire(live);
    }
    if (FINAL_STATUSES.has(state.status)) return;
    this.adopt(state);
    // Claimed by a node whose lease ran out (or by a Wazuh server, which claims nothing): deliver it again.
    if (claimLapsed(state, now)) this.send(id, { type: 'RECOVER', at: now }, 'lease_expired', SYSTEM);
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
        if (attempt >= 4 || !this.running) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
    if (!this.running) return;
    if (state) this.take(state, this.options.clock.now(), true);
    else {
      const live = this.live.get(documentId);
      if (live && !this.unsettled.has(documentId)) this.retire(live);
    }
  }

  private handOut(sub: Subscription, documentId: string): void {
    sub.inFlight.add(documentId);
    this.inFlight.set(documentId, sub);
  }

  /** The command is no longer in flight on `sub` (confirmed, failed, lost its claim, or ended). */
  private release(sub: Subscription, documentId: string): boolean {
    if (!sub.inFlight.delete(documentId)) return false;
    if (this.inFlight.get(documentId) === sub) this.inFlight.delete(documentId);
    return true;
  }

  /** Stops a live command's actor and forgets it (its queue entry is skipped lazily). */
  private retire(live: LiveCommand): void {
    // Replaced by a stored state someone else wrote: no connection of ours holds it any more.
    const owner = this.inFlight.get(live.doc.document_id);
    if (owner) this.release(owner, live.doc.document_id);
    live.stop();
    if (this.live.get(live.doc.document_id) === live) this.live.delete(live.doc.document_id);
  }

  private async drain(): Promise<void> {
    for (const subs of this.subscribers.values()) {
      for (const sub of [...subs]) {
        sub.actor.send({ type: 'DRAIN' });
        sub.transport.drain();
        this.unsubscribe(sub);
      }
    }
    await this.writes.barrier();
    this.deadlines.stop();
    for (const live of this.live.values()) live.stop();
    this.live.clear();
  }

  // ---- producers ------------------------------------------------------------------------

  /**
   * Creates commands; resolves once they are durable. `who` (one for all, or per command) is
   * recorded in the audit trail.
   */
  async submit(specs: CommandSpec[], who: string | ((spec: CommandSpec) => string), options: SubmitOptions = {}): Promise<CommandView[]> {
    if (!this.running) throw errors.SHUTTING_DOWN();
    // Commands pushed with a document_id that courier already has are adopted, not duplicated.
    const existing = await Promise.all(specs.map((spec) => (spec.document_id ? this.get(spec.document_id) : null)));
    assertAdoptable(specs, existing);
    const fresh = specs.filter((_, i) => !existing[i]);
    const views = new Map<string, CommandView>();
    let plan: CommandPlan | null = null;
    if (fresh.length > 0) {
      plan = await planCommands(fresh, this.options.store, {
        maxCommands: this.options.maxCommandsPerRequest,
        owner: options.owner ?? SYSTEM,
        idempotencyKey: options.idempotencyKey,
      });
      if (options.idempotencyKey !== undefined) await this.assertSameRequest(plan, options.idempotencyKey);
      await this.createPlanned(plan, typeof who === 'string' ? () => who : who, views);
    }
    // The answer lists, in the order asked, every document: adopted ones, and each member of a group.
    let nextFresh = 0;
    return specs.flatMap((_, i) => {
      const found = existing[i];
      if (found) return [commandView(found)];
      return plan!.commands[nextFresh++]!.map((c) => views.get(c.documentId)!);
    });
  }

  /**
   * A retry under the same idempotency key names the same commands: those that exist must be the
   * ones asked for (same target and action), or the key is being reused for another request.
   */
  private async assertSameRequest(plan: CommandPlan, key: string): Promise<void> {
    for (const [i, commands] of plan.commands.entries()) {
      const first = commands[0];
      const found = first && (await this.get(first.documentId))?.doc.command;
      const spec = plan.specs[i]!;
      if (found && (found.target.type !== spec.target.type || found.target.id !== spec.target.id || found.action.name !== spec.action.name)) {
        throw errors.IDEMPOTENCY_KEY_REUSED(key);
      }
    }
  }

  /**
   * Writes planned commands, a slice at a time, yielding to the event loop between batches:
   * a fan-out of 50,000 commands would otherwise hold it for seconds. Each batch is durable and
   * live before the next is built. If a batch fails after others were stored, the stored ones run
   * and the producer is told which (a retry with the same idempotency key completes the rest).
   */
  private async createPlanned(plan: CommandPlan, actorOf: (spec: CommandSpec) => string, views: Map<string, CommandView>): Promise<void> {
    const { clock, node } = this.options;
    const now = clock.now();
    const planned = plan.commands.flat();
    const stored: string[] = [];
    for (let from = 0; from < planned.length; from += CREATE_SLICE) {
      if (from > 0) {
        await nextTurn();
        if (!this.running) throw partlyStored(errors.SHUTTING_DOWN(), stored, planned.length);
      }
      const docs = planned.slice(from, from + CREATE_SLICE).map((c) => commandDocument(plan, c, now, ++this.seq));
      const creates = docs.map((doc, i) => ({
        doc,
        audit: { document_id: doc.document_id, from: null, to: 'pending' as const, cause: 'created', at: now, node, actor: actorOf(plan.specs[planned[from + i]!.specIndex]!) },
      }));
      let created: boolean[];
      try {
        created = await this.writes.create(creates);
      } catch (error) {
        // The store wrote some of them (durable, audited as created): they run like any other
        // command, and the producer is told which were stored and why the others were not.
        if (error instanceof CreatesPartlyFailed) {
          error.created.forEach((ok, i) => ok && this.adopt(pendingState(docs[i]!)) && stored.push(docs[i]!.document_id));
        }
        if (stored.length === 0) throw error instanceof CreatesPartlyFailed ? error.error : error;
        throw partlyStored(error instanceof CreatesPartlyFailed ? error.error : error, stored, planned.length);
      }
      for (const [i, doc] of docs.entries()) {
        if (created[i]) {
          views.set(doc.document_id, liveView(this.adopt(pendingState(doc))!)); // built here from the clock: its times are finite
          stored.push(doc.document_id);
        } else {
          // It exists already: a retry under the same idempotency key, or another request adopted the id a moment earlier.
          views.set(doc.document_id, commandView((await this.get(doc.document_id))!));
        }
      }
    }
  }

  async cancel(documentId: string, who: string): Promise<CommandView> {
    const live = this.live.get(documentId);
    if (!live) {
      const state = await this.get(documentId);
      if (!state) throw errors.COMMAND_NOT_FOUND(documentId);
      throw errors.COMMAND_NOT_CANCELLABLE(documentId, state.status);
    }
    const { outcome, target } = await this.sendUntilStored(documentId, () => ({ type: 'CANCEL', at: this.options.clock.now() }), 'cancelled', who);
    if (outcome !== 'ok') {
      const state = await this.get(documentId);
      throw errors.COMMAND_NOT_CANCELLABLE(documentId, state?.status ?? 'gone');
    }
    return liveView(target!);
  }

  /** The command as it stands now: the live actor if unfinished, else the store. */
  async get(documentId: string): Promise<CommandState | null> {
    const live = this.live.get(documentId);
    return live ? liveState(live) : this.options.store.getCommand(documentId);
  }

  /** The audit trail of a command, including every transition made before this call. */
  async history(documentId: string): Promise<AuditEvent[] | null> {
    await this.writes.barrier();
    const events = await this.options.store.history(documentId);
    return events.length > 0 ? events : null;
  }

  // ---- results --------------------------------------------------------------------------

  /**
   * Records results. With `route`, every command must belong to it (an agent reports only its
   * own); otherwise nothing is recorded. Exactly one result per command: repeats are ignored.
   */
  async reportResults(reports: ResultReport[], route: string | null, who: string): Promise<ResultOutcome[]> {
    // 503, not "ignored": the reporter must try again (after the restart, or on another node).
    if (!this.running) throw errors.SHUTTING_DOWN();
    // Live commands are checked in memory, synchronously (the results apply in this turn); the
    // others are read from the store together, not one by one.
    let docs = reports.map((report) => this.live.get(report.document_id)?.doc);
    if (docs.some((doc) => doc === undefined)) {
      docs = await Promise.all(docs.map(async (doc, i) => doc ?? (await this.options.store.getCommand(reports[i]!.document_id))?.doc));
    }
    docs.forEach((doc, i) => {
      // Another agent's command is reported as unknown: an agent learns nothing about others.
      if (!doc || (route !== null && doc.route !== route)) throw errors.COMMAND_NOT_FOUND(reports[i]!.document_id);
    });
    return Promise.all(reports.map((report) => this.recordResult(report, who)));
  }

  private async recordResult(report: ResultReport, who: string): Promise<ResultOutcome> {
    const event = (): CommandMachineEvent => {
      const result: CommandMachineEvent = { type: 'RESULT', at: this.options.clock.now(), code: report.code, message: report.message };
      if (report.data !== undefined) result.data = report.data;
      return result;
    };
    const { outcome, target } = await this.sendUntilStored(report.document_id, event, 'result', who);
    const recorded = outcome === 'ok';
    // Not taken because the drain began meanwhile (its actor may be gone): not ignored, refused.
    if (!recorded && !this.running) throw errors.SHUTTING_DOWN();
    // The result ended the command: its actor holds the final state (the store need not be read).
    const state = recorded && target ? liveState(target) : (await this.get(report.document_id))!;
    return recorded
      ? { document_id: report.document_id, outcome: 'recorded', status: state.status, message: `Result recorded: ${state.status}` }
      : {
          document_id: report.document_id,
          outcome: 'ignored',
          status: state.status,
          message: state.result ? `Ignored: a result was already recorded (${state.status})` : `Ignored: the command is ${state.status}`,
        };
  }

  // ---- subscriptions --------------------------------------------------------------------

  /** Registers a subscription of `route`; it gets this route's pending commands at once if any. */
  subscribe(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, longPollTimeoutMs = 0): Subscription {
    if (!this.running) throw errors.SHUTTING_DOWN();
    const sub = new Subscription(route, mode, who, this.options.clock.now(), transport, this.onActorError, longPollTimeoutMs, this.inspect);
    sub.actor.subscribe((snapshot: { value: unknown }) => {
      if (snapshot.value === 'timed_out') {
        this.detach(sub);
        sub.transport.timedOut?.();
      }
    });
    sub.actor.start();
    let subs = this.subscribers.get(route);
    if (!subs) this.subscribers.set(route, (subs = new Set()));
    subs.add(sub);
    this.markDirty(route);
    return sub;
  }

  /**
   * The transport wrote these commands out (long-poll answer finished, or WebSocket ack).
   * Refused while shutting down: the drain hands unconfirmed commands back (they are delivered again).
   */
  confirm(sub: Subscription, documentIds: Iterable<string>): string[] {
    if (!this.running) throw errors.SHUTTING_DOWN();
    const confirmed: string[] = [];
    for (const id of documentIds) {
      if (!this.release(sub, id)) continue;
      confirmed.push(id);
      this.send(id, { type: 'TRANSPORT_CONFIRMED', at: this.options.clock.now() }, 'delivered', sub.who);
    }
    return confirmed;
  }

  /**
   * The connection ended (answered, client gone, WebSocket closed). Commands handed to it
   * and not confirmed go back to pending, to be delivered again.
   */
  unsubscribe(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.actor.send({ type: sub.mode === 'long-poll' ? 'CLIENT_GONE' : 'CLOSED' });
    sub.actor.stop();
    this.detach(sub);
    for (const id of [...sub.inFlight]) {
      this.release(sub, id);
      this.send(id, { type: 'TRANSPORT_FAILED', at: this.options.clock.now() }, 'transport_failed', sub.who);
    }
  }

  /**
   * The route's owner may no longer hold it (its agent was removed): its open subscriptions end now,
   * what they held unconfirmed goes back to pending, and each transport tells its client why.
   */
  revoke(route: string): void {
    for (const sub of [...(this.subscribers.get(route) ?? [])]) {
      this.unsubscribe(sub);
      sub.transport.revoked?.();
    }
  }

  /** A subscription that was full (see `SubscriberTransport.room`) has room again: its route is dispatched anew. */
  wake(route: string): void {
    if (this.running) this.markDirty(route);
  }

  /** Takes a subscription out of its route: it receives nothing more. */
  private detach(sub: Subscription): void {
    const subs = this.subscribers.get(sub.route);
    subs?.delete(sub);
    if (subs?.size === 0) this.subscribers.delete(sub.route);
  }

  // ---- dispatch -------------------------------------------------------------------------

  private markDirty(route: string): void {
    this.dirtyRoutes.add(route);
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      for (const r of this.dirtyRoutes) this.dispatch(r);
      this.dirtyRoutes.clear();
    });
  }

  /** Hands a route's pending commands, oldest first, to its subscribers: each command to exactly one. */
  private dispatch(route: string): void {
    const queue = this.queues.get(route);
    const subs = this.subscribers.get(route);
    const { clock, maxCommandsPerDelivery } = this.options;
    while (queue && queue.size > 0 && subs && subs.size > 0) {
      const sub = firstThat(subs, (s) => s.canTakeMore);
      if (!sub) return;
      const ids = queue.take(Math.min(maxCommandsPerDelivery, sub.room));
      if (queue.size === 0) this.queues.delete(route);
      if (ids.length === 0) return;
      const now = clock.now();
      const claims: Promise<'ok' | 'conflict'>[] = [];
      const claimed: LiveCommand[] = [];
      for (const id of ids) {
        const live = this.live.get(id)!;
        const written = this.send(id, { type: 'CLAIM', at: now }, 'claimed', sub.who);
        if (!written) continue;
        live.readySince = Math.max(live.readySince, sub.openedAt);
        this.handOut(sub, id);
        claims.push(written);
        claimed.push(live);
      }
      if (claimed.length === 0) continue;
      subs.delete(sub);
      if (sub.mode === 'long-poll') {
        sub.actor.send({ type: 'ANSWER' }); // answers once; stays out of the route
      } else {
        subs.add(sub); // round-robin among an agent's WebSockets
      }
      if (subs.size === 0) this.subscribers.delete(route);
      // The claims are durable before the commands leave. Not sent: one another node won first,
      // one the store refused, and one that moved on while its claim was being written (timed
      // out, cancelled, re-read).
      void Promise.all(claims.map((claim) => claim.catch(() => 'refused' as const)))
        .then((outcomes) => {
          const won: CommandView[] = [];
          claimed.forEach((live, i) => {
            const id = live.doc.document_id;
            const stillOurs = outcomes[i] === 'ok' && this.live.get(id) === live && statusOf(live) === 'sent' && sub.inFlight.has(id);
            if (stillOurs) won.push(liveView(live));
            else this.release(sub, id);
          });
          // A long-poll is answered even if every claim was lost (then with no commands): it was promised an answer.
          if (!sub.closed && (won.length > 0 || sub.mode === 'long-poll')) sub.transport.push(won);
        })
        .catch((err: unknown) => this.options.logger.error({ err }, 'claim write failed'));
    }
  }

  // ---- command actors -------------------------------------------------------------------

  /**
   * Makes a command live in its current state (and queues it if pending). A command whose times
   * are not times (a store bug: stores read dates into finite ms) is logged and left out, so that
   * it can neither stall the deadline queue nor stop the recovery or the poll that brought it.
   */
  private adopt(state: CommandState): LiveCommand | null {
    const { doc } = state;
    let live: LiveCommand;
    try {
      live = new LiveCommand(doc, state, this.actorSettings);
    } catch (err) {
      this.options.logger.error({ err, document_id: doc.document_id }, 'command not run: its times are unusable');
      return null;
    }
    this.live.set(doc.document_id, live);
    this.options.store.adopted?.(state);
    this.deadlines.add(live.deliveryDeadline, doc.document_id);
    if (state.executionDeadline !== null) this.deadlines.add(state.executionDeadline, doc.document_id);
    if (state.status === 'pending') this.enqueue(live);
    return live;
  }

  private enqueue(live: LiveCommand): void {
    let queue = this.queues.get(live.doc.route);
    if (!queue) this.queues.set(live.doc.route, (queue = new RouteQueue(this.isPending)));
    queue.push(live.createdAt, live.doc.seq, live.doc.document_id);
    this.markDirty(live.doc.route);
  }

  /**
   * Sends an event to a live command. Returns the pending write of the transition it caused,
   * or null if the command is not live or the event was not accepted in its state.
   */
  private send(documentId: string, event: CommandMachineEvent, cause: string, who: string): Promise<'ok' | 'conflict'> | null {
    const live = this.live.get(documentId);
    if (!live) return null;
    const transition = applyEvent(live, event, cause, who, this.options.node, this.options.claimLeaseMs);
    if (!transition) return null;
    const written = this.writes.change(transition.change);
    this.unsettled.set(documentId, (this.unsettled.get(documentId) ?? 0) + 1);
    this.afterTransition(live, transition, written);
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
        if (this.running) this.startReconcile(documentId);
      },
    );
    return written;
  }

  /**
   * Sends an event and waits for its write. When another writer changed the command first, the
   * command is re-read and the event sent again to the stored state (a result reported to this
   * node for a command another node moved on must not be lost). `outcome` null: not accepted;
   * `target`: the live command the last attempt went to.
   */
  private async sendUntilStored(
    documentId: string,
    event: () => CommandMachineEvent,
    cause: string,
    who: string,
  ): Promise<{ outcome: 'ok' | 'conflict' | null; target: LiveCommand | undefined }> {
    for (let attempt = 0; ; attempt++) {
      const target = this.live.get(documentId);
      const written = this.send(documentId, event(), cause, who);
      if (!written) return { outcome: null, target };
      const outcome = await written;
      if (outcome === 'ok' || attempt >= 3) return { outcome, target };
      await this.reconciling.get(documentId);
    }
  }

  /** Keeps the queues, deadlines and the live map in step with a transition. */
  private afterTransition(live: LiveCommand, { from, to, change }: Transition, written: Promise<unknown>): void {
    const id = live.doc.document_id;
    // Left `sent` (confirmed, or timed out, cancelled, recovered): no longer in flight on a connection.
    if (from === 'sent' && to !== 'sent') {
      const owner = this.inFlight.get(id);
      if (owner) this.release(owner, id);
    }
    if (to === 'pending') {
      live.readySince = change.audit.at;
      this.enqueue(live);
    } else if (to === 'delivered') {
      this.deadlines.add(change.executionDeadline!, id);
      this.options.onDelivered?.(change.audit.at - live.readySince);
    } else if (FINAL_STATUSES.has(to)) {
      // Keep the actor until its final status is durable, so reads never see an older state
      // (or until it was refused: then the re-read brings the stored state back).
      const retire = () => {
        live.stop();
        if (this.live.get(id) === live) this.live.delete(id);
        if (from === 'pending') this.pruneSmallQueue(live.doc.route);
      };
      void written.then(retire, retire);
    }
  }

  /**
   * A command ended without being taken from its queue (timed out, cancelled). A short queue is
   * pruned at once, so that an offline route whose commands all ended leaves no queue behind;
   * a long one prunes itself as it grows.
   */
  private pruneSmallQueue(route: string): void {
    const queue = this.queues.get(route);
    if (queue && queue.size <= 64 && queue.prune() === 0) this.queues.delete(route);
  }

  /** Calls `listener` after every commit of transitions (audit records); returns the unsubscribe. */
  onCommitted(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** How an agent (or component) route is connected right now. */
  connectionOf(route: string): 'websocket' | 'long-poll' | 'offline' {
    const subs = this.subscribers.get(route);
    if (!subs || subs.size === 0) return 'offline';
    for (const sub of subs) if (sub.mode === 'websocket') return 'websocket';
    return 'long-poll';
  }

  // ---- stats ----------------------------------------------------------------------------

  /** Every live root actor, the supervisor's own first (lazily: the inspector takes only a few). */
  *liveActors(): Generator<AnyActorRef> {
    yield this.lifecycle;
    for (const subs of this.subscribers.values()) for (const sub of subs) yield sub.actor;
    for (const live of this.live.values()) yield live.actor;
  }

  stats() {
    let longPoll = 0;
    let webSocket = 0;
    for (const subs of this.subscribers.values()) {
      for (const sub of subs) sub.mode === 'long-poll' ? longPoll++ : webSocket++;
    }
    return {
      liveCommands: this.live.size,
      longPollSubscriptions: longPoll,
      webSocketSubscriptions: webSocket,
      routeQueues: this.queues.size,
      commandsInFlight: this.inFlight.size,
    };
  }
}

/** A `sent` command whose claim ran out (or that nobody claimed: a Wazuh server wrote `sent`). */
function claimLapsed(state: CommandState, now: number): boolean {
  return state.status === 'sent' && (!state.claim || state.claim.until <= now);
}

function firstThat<T>(items: Iterable<T>, predicate: (item: T) => boolean): T | undefined {
  for (const item of items) if (predicate(item)) return item;
  return undefined;
}

/** An adopted document_id must name the same command; one id may not name two commands of a request. */
function assertAdoptable(specs: CommandSpec[], existing: (CommandState | null)[]): void {
  const seen = new Set<string>();
  for (const [i, spec] of specs.entries()) {
    const id = spec.document_id;
    if (!id) continue;
    if (seen.has(id)) throw errors.DOCUMENT_ID_CONFLICT(id, 'appears more than once in the request');
    seen.add(id);
    const found = existing[i]?.doc.command;
    if (found && (found.target.type !== spec.target.type || found.target.id !== spec.target.id || found.action.name !== spec.action.name)) {
      throw errors.DOCUMENT_ID_CONFLICT(id, 'already exists with a different target or action');
    }
  }
}

/** A command just created: pending, never handed out. */
function pendingState(doc: CommandDocument): CommandState {
  return { doc, status: 'pending', result: null, deliveredAt: null, executionDeadline: null, attempts: 0 };
}

/** What a producer is told when only some of its commands were stored: the failure's code, and which ones were. */
function partlyStored(error: unknown, stored: string[], total: number): unknown {
  const named = stored.length > 20 ? `${stored.slice(0, 20).join(', ')}, …` : stored.join(', ');
  const which = `${stored.length} of the ${total} commands were stored and will run: ${named}`;
  return error instanceof CourierError ? new CourierError(error.code, error.statusCode, `${error.message} (${which})`) : error;
}
