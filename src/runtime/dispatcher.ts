import type { Logger } from 'pino';
import type { CommandView } from '../domain/command.js';
import type { Clock } from './clock.js';
import type { CommandTable } from './command-table.js';
import type { LiveCommand } from './live-command.js';
import { RouteQueue } from './route-queue.js';
import type { Subscription, SubscriptionMode } from './subscription.js';

export interface DispatcherOptions {
  clock: Clock;
  logger: Logger;
  /** Most commands in one long-poll answer or one WebSocket frame. */
  maxCommandsPerDelivery: number;
}

/**
 * Who gets which command: a FIFO queue of pending commands per route, the live subscriptions
 * per route, and the commands handed to each subscription and not yet confirmed. Only routes
 * that got work (a command queued, a subscriber arrived or has room again) are dispatched, once
 * per turn of the event loop.
 */
export class Dispatcher {
  private readonly queues = new Map<string, RouteQueue>();
  private readonly subscribers = new Map<string, Set<Subscription>>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** How many of `subscriptions` each transport has: a metrics scrape reads it, and must not walk 10,000 connections. */
  private readonly attached: Record<SubscriptionMode, number> = { 'long-poll': 0, websocket: 0 };
  /** Per command handed to a connection and not yet confirmed or failed: that subscription. */
  private readonly inFlight = new Map<string, Subscription>();
  private readonly dirtyRoutes = new Set<string>();
  /** Inside `releasing`: per connection, the commands it no longer holds, told at the end. */
  private released: Map<Subscription, string[]> | null = null;
  private dispatchScheduled = false;
  private readonly isQueued = (id: string): boolean => this.table.isQueued(id);

  constructor(
    private readonly options: DispatcherOptions,
    private readonly table: CommandTable,
  ) {}

  /** Puts a command on its route's queue (in creation order) and wakes the route. */
  enqueue(live: LiveCommand): void {
    let queue = this.queues.get(live.doc.route);
    if (!queue) this.queues.set(live.doc.route, (queue = new RouteQueue(this.isQueued)));
    queue.push(live.createdAt, live.doc.seq, live.doc.document_id);
    this.markDirty(live.doc.route);
  }

  /** Registers a subscription of its route; it gets the route's pending commands at once if any. */
  add(sub: Subscription): void {
    let subs = this.subscribers.get(sub.route);
    if (!subs) this.subscribers.set(sub.route, (subs = new Set()));
    subs.add(sub);
    if (!this.subscriptions.has(sub.id)) this.attached[sub.mode]++;
    this.subscriptions.set(sub.id, sub);
    this.markDirty(sub.route);
  }

  /** Takes a subscription out of its route: it receives nothing more. */
  detach(sub: Subscription): void {
    const subs = this.subscribers.get(sub.route);
    subs?.delete(sub);
    if (subs?.size === 0) this.subscribers.delete(sub.route);
    if (this.subscriptions.get(sub.id) === sub) this.attached[sub.mode]--;
    this.subscriptions.delete(sub.id);
  }

  /** Still in its route (it may be handed commands, or is a WebSocket). */
  isAttached(sub: Subscription): boolean {
    return this.subscriptions.get(sub.id) === sub;
  }

  /** The open subscriptions of a route (a copy). */
  subscriptionsOf(route: string): Subscription[] {
    return [...(this.subscribers.get(route) ?? [])];
  }

  /** The routes with an open subscription. */
  connectedRoutes(): IterableIterator<string> {
    return this.subscribers.keys();
  }

  *allSubscriptions(): Generator<Subscription> {
    for (const subs of this.subscribers.values()) yield* subs;
  }

  /**
   * The command was claimed for the subscription `subscriptionId`: it is that connection's until
   * confirmed or failed (the dispatch then tells the subscription's machine, `HANDED`).
   */
  handOut(documentId: string, subscriptionId: string | undefined): void {
    const sub = subscriptionId === undefined ? undefined : this.subscriptions.get(subscriptionId);
    if (sub) this.inFlight.set(documentId, sub);
  }

  /**
   * The command is no longer held by a connection (confirmed, failed, lost its claim, or ended).
   * Inside `releasing`, its connection is told once for the whole batch.
   */
  release(documentId: string): void {
    const owner = this.inFlight.get(documentId);
    if (!owner) return;
    this.inFlight.delete(documentId);
    if (!this.released) return owner.send({ type: 'RELEASED', ids: [documentId] });
    const ids = this.released.get(owner);
    if (ids) ids.push(documentId);
    else this.released.set(owner, [documentId]);
  }

  /**
   * Runs `work` (events to many commands: an ack of a whole answer, deadlines, a connection's end)
   * and then tells each connection what it no longer holds in one event: one copy of its in-flight
   * set per batch, not one per command.
   */
  releasing(work: () => void): void {
    if (this.released) return work();
    const released = (this.released = new Map<Subscription, string[]>());
    try {
      work();
    } finally {
      this.released = null;
      for (const [owner, ids] of released) owner.send({ type: 'RELEASED', ids });
    }
  }

  /** The subscription holding the command now, if any. */
  ownerOf(documentId: string): Subscription | undefined {
    return this.inFlight.get(documentId);
  }

  isInFlight(documentId: string): boolean {
    return this.inFlight.has(documentId);
  }

  /** Wakes a route that has room again or got work. */
  markDirty(route: string): void {
    this.dirtyRoutes.add(route);
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      for (const r of this.dirtyRoutes) this.dispatch(r);
      this.dirtyRoutes.clear();
    });
  }

  /**
   * A command ended without being taken from its queue (timed out, cancelled). A short queue is
   * pruned at once, so that an offline route whose commands all ended leaves no queue behind;
   * a long one prunes itself as it grows.
   */
  pruneSmallQueue(route: string): void {
    const queue = this.queues.get(route);
    if (queue && queue.size <= 64 && queue.prune() === 0) this.queues.delete(route);
  }

  /** How a route is connected right now. */
  connectionOf(route: string): 'websocket' | 'long-poll' | 'offline' {
    const subs = this.subscribers.get(route);
    if (!subs || subs.size === 0) return 'offline';
    for (const sub of subs) if (sub.mode === 'websocket') return 'websocket';
    return 'long-poll';
  }

  stats() {
    const attached = this.attached;
    return { longPollSubscriptions: attached['long-poll'], webSocketSubscriptions: attached.websocket, routeQueues: this.queues.size, commandsInFlight: this.inFlight.size };
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
        const live = this.table.get(id)!;
        const readySince = live.readySince;
        live.readySince = Math.max(readySince, sub.openedAt);
        // The machine hands it to `sub` (`handToConnection`) and writes the claim.
        const written = live.send({ type: 'CLAIM', at: now, by: sub.who, subscription: sub.id });
        if (!written) {
          live.readySince = readySince;
          continue;
        }
        claims.push(written);
        claimed.push(live);
      }
      if (claimed.length === 0) continue;
      // A long-poll answers once: its machine takes it out of the route (`detach`).
      sub.send({ type: 'HANDED', ids: claimed.map((live) => live.doc.document_id) });
      if (subs.delete(sub)) subs.add(sub); // round-robin among an agent's WebSockets
      this.pushOnceDurable(sub, claimed, claims);
    }
  }

  /**
   * The claims are durable before the commands leave. Not sent: one another node won first, one
   * the store refused, and one that moved on while its claim was being written (timed out,
   * cancelled, re-read): it was released from the subscription when it left its claimed state.
   */
  private pushOnceDurable(sub: Subscription, claimed: LiveCommand[], claims: Promise<'ok' | 'conflict'>[]): void {
    void Promise.all(claims.map((claim) => claim.catch(() => 'refused' as const)))
      .then((outcomes) => {
        const won: CommandView[] = [];
        this.releasing(() =>
          claimed.forEach((live, i) => {
            const id = live.doc.document_id;
            const ours = this.inFlight.get(id) === sub;
            if (ours && outcomes[i] === 'ok' && this.table.get(id) === live) won.push(live.view());
            else if (ours) this.release(id);
          }),
        );
        // A long-poll is answered even if every claim was lost (then with no commands): it was promised an answer.
        if (!sub.closed && (won.length > 0 || sub.mode === 'long-poll')) sub.transport.push(won);
      })
      .catch((err: unknown) => this.options.logger.error({ err }, 'claim write failed'));
  }
}

function firstThat<T>(items: Iterable<T>, predicate: (item: T) => boolean): T | undefined {
  for (const item of items) if (predicate(item)) return item;
  return undefined;
}
