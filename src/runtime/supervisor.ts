import { createActor, fromPromise, waitFor, type Actor, type AnyActorRef } from 'xstate';
import type { Logger } from 'pino';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { commandMachine } from '../../machines/command.machine.js';
import { longPollSubscriptionMachine } from '../../machines/long-poll-subscription.machine.js';
import { webSocketSubscriptionMachine } from '../../machines/websocket-subscription.machine.js';
import type { CommandDocument, CommandSpec, CommandState, CommandView } from '../domain/command.js';
import { CourierError, errors } from '../errors.js';
import type { AuditEvent, CommandStore } from '../store/store.js';
import { unansweredFor } from '../domain/unanswered.js';
import { guardInspect, type InspectObserver } from './actor-observers.js';
import type { Clock } from './clock.js';
import { commandEffects } from './command-effects.js';
import { CommandTable } from './command-table.js';
import { Dispatcher } from './dispatcher.js';
import type { CommandLifecycle } from './live-command.js';
import { Producers, type SubmitOptions } from './producers.js';
import { Results, type ResultOutcome, type ResultReport } from './results.js';
import { edgeActions } from './supervisor-actions.js';
import { SupervisorMailbox } from './supervisor-mailbox.js';
import { Subscriptions, type OpenOptions } from './subscriptions.js';
import type { SubscriberTransport, Subscription, SubscriptionMode } from './subscription.js';
import { WriteBatcher } from './write-batcher.js';
import { holdsAll, RouteAffinity } from './route-affinity.js';
import type { LiveStateTally } from '../domain/live-states.js';

export type { SubmitOptions } from './producers.js';
export type { ResultOutcome, ResultReport } from './results.js';

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
  /** The least time between the starts of two commits (ms; see `WriteBatcherOptions.commitIntervalMs`). */
  commitIntervalMs?: number;
  /** Most commands one request may create (group targets count each member). */
  maxCommandsPerRequest: number;
  /** How long a claim (`sent`) holds before another node may deliver the command again (ms). */
  claimLeaseMs: number;
  /** Dispatch latency: from the moment a command and a subscriber of its target coexist to delivery. */
  onDelivered?: (latencyMs: number) => void;
  /** Inspection observer given to every root actor; absent (the default), no observer is attached. */
  inspect?: InspectObserver;
  /**
   * Why the store cannot take a create now (it hangs, or cannot be read), or null: a producer is
   * then answered 503 at once instead of waiting for the request timeout.
   */
  storeProblem?: () => string | null;
  /**
   * On a cluster (a store shared with other nodes): hold only the commands of the routes served
   * here (see `RouteAffinity`), a route counting as served for this long (ms) after its last
   * subscription ended. Absent: hold every command (a node alone on its store).
   */
  affinityGraceMs?: number;
  /** On a cluster: told when a route starts being served here (by the transport of its first subscription) and when it stops (null: its grace passed). */
  onRouteServed?: (route: string, servedBy: SubscriptionMode | null) => void;
  /** Told of the commands this node has just created (stored), e.g. to tell the node their agent is connected to. */
  onCreated?: (docs: CommandDocument[]) => void;
}

/** How often, on a cluster, commands this node no longer holds are let go (ms). */
const SHED_INTERVAL_MS = 1000;
/** Most routes the poller's tail names in its query (see `servedRoutes`). */
const MAX_TAILED_ROUTES = 5000;
/** How long, on a cluster, routes that start being served are gathered into one read of their commands (ms). */
const ROUTE_LOAD_DELAY_MS = 50;
/** A route whose last subscription here ended this long ago is recorded as connected here again when one comes back. */
const RECORD_AGAIN_AFTER_MS = 5_000;

/**
 * The supervisor: the actor every edge talks to, by events (machines/supervisor.machine.ts). Its
 * named actions are provided here, each handing the event to the part of the runtime it is for:
 * the command table (live commands), the dispatcher and subscriptions (who gets what), the
 * producers (create, cancel) and the results. Command lifecycles are their machine's: the
 * supervisor only sends them events.
 *
 * Flow: an edge calls a method here -> an event goes to the supervisor's mailbox -> a command
 * machine takes a transition -> the effects it names run: persisted (batched) first, and only
 * then the side effect (push to a connection, answer to a producer).
 */
export class Supervisor {
  private readonly actor: Actor<typeof supervisorMachine>;
  private readonly mailbox: SupervisorMailbox;
  private readonly table: CommandTable;
  private readonly dispatcher: Dispatcher;
  private readonly subscriptions: Subscriptions;
  private readonly producers: Producers;
  private readonly results: Results;
  private readonly writes: WriteBatcher;
  private seq = 0;
  private recoverError: unknown;
  private writeProblem: { message: string; code: string } | null = null;
  private readonly commitListeners = new Set<() => void>();
  private readonly affinity: RouteAffinity | null;
  /** Routes that started being served here, whose commands are to be read from the cluster. */
  private readonly routesToLoad = new Set<string>();
  private shedTimer: NodeJS.Timeout | null = null;
  private readonly onActorError = (error: unknown) => this.options.logger.error({ err: error }, 'actor error');
  private readonly isRunning = () => this.running;

  constructor(private readonly options: SupervisorOptions) {
    const { store, clock, logger, node } = options;
    const inspect = options.inspect && guardInspect(options.inspect);
    this.writes = new WriteBatcher(store, {
      maxBatch: options.maxWriteBatch,
      commitIntervalMs: options.commitIntervalMs ?? 0,
      probe: () => store.probeWrite(node, clock.now()),
      onCommitted: () => this.notifyCommitted(),
      onListenerError: (err) => logger.error({ err }, 'a commit listener failed'),
      onRefused: (err, ids) => logger.error({ err, document_ids: ids }, 'the store refused writes; their callers are told, the rest is written'),
      onHealthChange: (healthy, err) => {
        this.writeProblem = healthy ? null : { message: err instanceof Error ? err.message : String(err), code: err instanceof CourierError ? err.code : errors.INTERNAL.code };
        if (healthy) logger.info('store writes recovered');
        else logger.error({ err }, 'store writes failing; retrying');
      },
    });
    // The effects are filled in once the parts they act on exist (they need each other).
    const lifecycle: CommandLifecycle = { effects: null!, executionTimeoutMs: options.executionTimeoutMs, onError: this.onActorError, inspect };
    this.table = new CommandTable({ store, clock, logger, node, running: this.isRunning, onDeadlines: (ids) => this.mailbox.tell('DEADLINES', ids) }, lifecycle, {
      queue: (live) => this.dispatcher.enqueue(live),
      forgotten: (live) => this.dispatcher.release(live.doc.document_id),
      inFlight: (id) => this.dispatcher.isInFlight(id),
      holds: (state, now) => (this.affinity ?? holdsAll).holds(state, now),
      keeps: (live, now) => (this.affinity ?? holdsAll).keeps(live, now),
    });
    this.dispatcher = new Dispatcher({ clock, logger, maxCommandsPerDelivery: options.maxCommandsPerDelivery }, this.table);
    this.affinity =
      options.affinityGraceMs === undefined ? null : new RouteAffinity(this.dispatcher, node, options.affinityGraceMs, (route) => options.onRouteServed?.(route, null));
    lifecycle.effects = commandEffects({
      table: this.table,
      dispatcher: this.dispatcher,
      writes: this.writes,
      node,
      claimLeaseMs: options.claimLeaseMs,
      onDelivered: options.onDelivered,
    });
    this.subscriptions = new Subscriptions(this.dispatcher, this.table, clock, this.onActorError, inspect, options.maxCommandsPerDelivery);
    this.producers = new Producers(
      {
        store,
        clock,
        node,
        maxCommandsPerRequest: options.maxCommandsPerRequest,
        running: this.isRunning,
        nextSeq: () => ++this.seq,
        storeProblem: () => this.unansweredWrite() ?? options.storeProblem?.() ?? null,
        onCreated: options.onCreated,
      },
      this.table,
      this.writes,
    );
    this.results = new Results(store, clock, this.table, this.isRunning);
    this.actor = createActor(this.provided(), inspect ? { inspect } : undefined);
    this.actor.subscribe({ error: this.onActorError });
    this.mailbox = new SupervisorMailbox(this.actor, { throughActor: Boolean(inspect), onError: this.onActorError });
  }

  // ---- its own lifecycle ------------------------------------------------------------------

  /** Recovers unfinished commands from the store; resolves once running. */
  async start(): Promise<void> {
    this.actor.start();
    const snapshot = await waitFor(this.actor, (s) => s.value !== 'starting');
    if (snapshot.value === 'failed') throw this.recoverError instanceof Error ? this.recoverError : new Error('supervisor recovery failed', { cause: this.recoverError });
    if (this.affinity) {
      this.shedTimer = setInterval(() => this.mailbox.tell('SHED', null), SHED_INTERVAL_MS);
      this.shedTimer.unref();
    }
  }

  /** Refuses new work, answers open subscriptions, writes everything out. */
  async stop(): Promise<void> {
    if (this.shedTimer) clearInterval(this.shedTimer);
    this.actor.send({ type: 'STOP' });
    await waitFor(this.actor, (s) => s.status === 'done');
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  /** Accepting work: false from the moment `stop` is called (draining, then stopped). */
  get running(): boolean {
    return this.actor.getSnapshot().value === 'running';
  }

  /** Why status writes are failing (they are being retried), or null when the last commit worked. */
  get storeWriteProblem(): { message: string; code: string } | null {
    const unanswered = this.unansweredWrite();
    return unanswered === null ? this.writeProblem : { message: unanswered, code: errors.STORE_UNAVAILABLE.code };
  }

  /** A write the store has left unanswered for too long, said as a reason; or null. */
  private unansweredWrite(): string | null {
    return unansweredFor('write', this.writes.unansweredForMs);
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

  // ---- what the edges send --------------------------------------------------------------

  /** Creates commands; resolves once they are durable. `who` (one for all, or per command) is recorded in the audit trail. */
  submit(specs: CommandSpec[], who: string | ((spec: CommandSpec) => string), options: SubmitOptions = {}): Promise<CommandView[]> {
    return this.mailbox.ask('SUBMIT', { specs, who, options });
  }

  cancel(documentId: string, who: string): Promise<CommandView> {
    return this.mailbox.ask('CANCEL', { documentId, who });
  }

  /**
   * Records results. With `route`, every command must belong to it (an agent reports only its
   * own); otherwise nothing is recorded. Exactly one result per command: repeats are ignored.
   * `acked`: commands the same frame acknowledged, confirmed first, in the same event (as `confirm`).
   */
  reportResults(reports: ResultReport[], route: string | null, who: string, acked?: { subscription: Subscription; documentIds: Iterable<string> }): Promise<ResultOutcome[]> {
    const confirmed = acked && { subscription: acked.subscription, documentIds: [...acked.documentIds] };
    return this.mailbox.ask('RESULTS', { reports, route, who, ...(confirmed ? { confirmed } : {}) });
  }

  /**
   * Commands as the store now has them, changed by someone else (another node, an operator, the
   * indexer plugin): new ones become live, known ones are brought to the stored state, and a
   * claim whose lease expired is released so that the command is delivered again.
   */
  observe(states: CommandState[]): void {
    this.mailbox.tell('OBSERVED', states);
  }

  /**
   * On a cluster: commands another node has just created for routes served here and announced, so
   * that they need not wait for this node's next poll, as read from the store since. Taken unless this
   * node holds them already (then its view is at least as new).
   */
  announced(states: CommandState[]): void {
    this.mailbox.tell('ANNOUNCED', states);
  }

  /**
   * Registers a subscription of `route`; it gets this route's pending commands at once if any.
   * A long-poll's `options.acked` acknowledges what the agent read of its previous answer.
   */
  subscribe(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, options: OpenOptions = {}): Subscription {
    const now = this.options.clock.now();
    const starts = this.affinity !== null && !this.affinity.serves(route, now);
    // Back after a while without a subscription here (not a long-poll's next poll): another node may
    // have recorded the route as its own meanwhile, so it is recorded again.
    const ended = starts ? undefined : this.affinity?.endedAt(route);
    const returns = ended !== undefined && now - ended >= RECORD_AGAIN_AFTER_MS;
    const subscription = this.mailbox.askNow('SUBSCRIBE', { route, mode, who, transport, options });
    if (starts) this.loadRoute(route);
    if (starts || returns) this.options.onRouteServed?.(route, mode);
    return subscription;
  }

  /**
   * A route starts being served here: its commands, which other nodes held until now (or nobody),
   * are read from the cluster — the routes of 50 ms in one read — and made live as observed.
   * A read that fails is logged: the poller's re-scan finds the route's pending commands anyway.
   */
  private loadRoute(route: string): void {
    const { store } = this.options;
    if (!store.loadUnfinishedOf) return;
    if (this.routesToLoad.size === 0) {
      // Agents connect in bursts (a node restarted, a network back): one read for those of 50 ms.
      setTimeout(() => {
        const routes = [...this.routesToLoad];
        this.routesToLoad.clear();
        store.loadUnfinishedOf!(routes).then(
          (states) => {
            if (states.length > 0) this.observe(states);
          },
          (err: unknown) => this.options.logger.warn({ err, routes: routes.length }, 'cannot read the commands of routes newly served here; the re-scan will find them'),
        );
      }, ROUTE_LOAD_DELAY_MS).unref();
    }
    this.routesToLoad.add(route);
  }

  /** A long-poll's answer was written out to its socket. */
  written(subscription: Subscription): void {
    this.mailbox.tell('WRITTEN', subscription);
  }

  /**
   * The transport confirmed these commands (a WebSocket ack); returns those it held. Refused
   * while shutting down: the drain hands unconfirmed commands back.
   */
  confirm(subscription: Subscription, documentIds: Iterable<string>): string[] {
    return this.mailbox.askNow('CONFIRMED', { subscription, documentIds: [...documentIds] });
  }

  /** The connection ended: commands handed to it and not confirmed go back to pending. */
  unsubscribe(subscription: Subscription): void {
    this.mailbox.tell('UNSUBSCRIBED', subscription);
  }

  /** The route's owner may no longer hold it (its agent was removed): its open subscriptions end now. */
  revoke(route: string): void {
    this.mailbox.tell('REVOKE', route);
  }

  /** A subscription that was full (see `SubscriberTransport.room`) has room again: its route is dispatched anew. */
  wake(route: string): void {
    this.mailbox.tell('WAKE', route);
  }

  // ---- reads ------------------------------------------------------------------------------

  /** The command as it stands now: the live one if unfinished, else the store's. */
  get(documentId: string): Promise<CommandState | null> {
    return this.producers.get(documentId);
  }

  /**
   * On a cluster, the routes whose commands this node holds (see `RouteAffinity`), for the
   * poller's tail; null when it holds every command (alone on its store, or past 5,000 routes).
   */
  servedRoutes(): string[] | null {
    return this.affinity?.routes(this.options.clock.now(), MAX_TAILED_ROUTES) ?? null;
  }

  /** Whether this node serves the route: holds its commands (always true for a node alone on its store). */
  serves(route: string): boolean {
    return this.affinity?.serves(route, this.options.clock.now()) ?? true;
  }

  /** Whether this node holds the command live (on a cluster, see `RouteAffinity`). */
  isLive(documentId: string): boolean {
    return this.table.get(documentId) !== undefined;
  }

  /** The audit trail of a command, including every transition made before this call. */
  async history(documentId: string): Promise<AuditEvent[] | null> {
    await this.writes.barrier();
    const events = await this.options.store.history(documentId);
    return events.length > 0 ? events : null;
  }

  /** Wakes the live feeds for audit records written outside the command batches (a job's transitions). */
  auditWritten(): void {
    this.notifyCommitted();
  }

  /** Calls `listener` after every commit of transitions (audit records); returns the unsubscribe. */
  onCommitted(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** The routes (`agent:<id>`, `server:<module>`) with an open subscription or an answer awaiting its acknowledgement. */
  connectedRoutes(): Set<string> {
    const routes = new Set(this.dispatcher.connectedRoutes());
    for (const sub of this.subscriptions.awaitingAck()) routes.add(sub.route);
    return routes;
  }

  /** How an agent (or component) route is connected right now. */
  connectionOf(route: string): 'websocket' | 'long-poll' | 'offline' {
    return this.dispatcher.connectionOf(route);
  }

  /** Every live root actor, the supervisor's own first (lazily: the inspector takes only a few). */
  *liveActors(): Generator<AnyActorRef> {
    yield this.actor;
    for (const sub of this.dispatcher.allSubscriptions()) if (sub.lifecycle.inspected) yield sub.lifecycle.inspected;
    for (const sub of this.subscriptions.awaitingAck()) if (sub.lifecycle.inspected) yield sub.lifecycle.inspected;
    for (const live of this.table.values()) if (live.inspected) yield live.inspected;
  }

  /** Where the live actors stand: the supervisor itself, every live command and every open subscription. */
  tallyLiveStates(tally: LiveStateTally): void {
    tally.add(supervisorMachine.id, 'supervisor', this.actor.getSnapshot().value);
    for (const live of this.table.values()) tally.add(commandMachine.id, live.doc.document_id, live.status);
    for (const sub of [...this.dispatcher.allSubscriptions(), ...this.subscriptions.awaitingAck()]) {
      if (sub.closed) continue;
      tally.add(sub.mode === 'websocket' ? webSocketSubscriptionMachine.id : longPollSubscriptionMachine.id, `${sub.id} ${sub.route}`, sub.lifecycle.state);
    }
  }

  stats() {
    let awaitingAck = 0;
    for (const _ of this.subscriptions.awaitingAck()) awaitingAck++;
    return { liveCommands: this.table.size, ...this.dispatcher.stats(), longPollAnswersAwaitingAck: awaitingAck };
  }

  // ---- the actor ------------------------------------------------------------------------

  private provided() {
    const { store, logger } = this.options;
    return supervisorMachine.provide({
      actors: {
        recover: fromPromise(async () => {
          try {
            this.seq = await store.maxSeq();
            const unfinished = await store.loadUnfinished();
            this.table.recover(unfinished);
            logger.info({ commands: unfinished.length }, 'recovered unfinished commands');
          } catch (error) {
            this.recoverError = error;
            throw error;
          }
        }),
        drain: fromPromise(async () => {
          this.subscriptions.drain();
          await this.writes.barrier();
          this.table.clear();
        }),
      },
      actions: edgeActions({
        table: this.table,
        dispatcher: this.dispatcher,
        subscriptions: this.subscriptions,
        producers: this.producers,
        results: this.results,
        clock: this.options.clock,
        notifyCommitted: () => this.notifyCommitted(),
        affinity: this.affinity,
      }),
    });
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
}
