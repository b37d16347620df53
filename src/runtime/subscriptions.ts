import type { Clock } from './clock.js';
import type { ActorErrorHandler, InspectObserver } from './actor-observers.js';
import type { CommandTable } from './command-table.js';
import type { Dispatcher } from './dispatcher.js';
import { Subscription, type SubscriberTransport, type SubscriptionMode } from './subscription.js';

/**
 * Subscriptions opened and ended: each a root actor (its machine in `machines/`), registered with
 * the dispatcher while open. What a subscription held unconfirmed when it ends is handed back to
 * its commands' machines (`TRANSPORT_FAILED`: pending again, delivered again).
 */
export class Subscriptions {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly table: CommandTable,
    private readonly clock: Clock,
    private readonly onError: ActorErrorHandler,
    private readonly inspect: InspectObserver | undefined,
  ) {}

  open(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, longPollTimeoutMs: number): Subscription {
    const sub = new Subscription(route, mode, who, this.clock.now(), transport, this.onError, longPollTimeoutMs, this.inspect);
    sub.actor.subscribe((snapshot: { matches(state: string): boolean }) => {
      if (snapshot.matches('timed_out')) {
        this.dispatcher.detach(sub);
        sub.transport.timedOut?.();
      }
    });
    sub.actor.start();
    this.dispatcher.add(sub);
    return sub;
  }

  /** The transport confirmed these commands: those `sub` holds are told (→ delivered). Returns them. */
  confirm(sub: Subscription, documentIds: string[]): string[] {
    const confirmed: string[] = [];
    for (const id of documentIds) {
      if (!sub.inFlight.has(id)) continue;
      confirmed.push(id);
      // Leaving its claimed state releases it from `sub` (`releaseFromConnection`).
      if (!this.table.send(id, { type: 'TRANSPORT_CONFIRMED', at: this.clock.now(), by: sub.who })) this.dispatcher.release(id);
    }
    return confirmed;
  }

  /**
   * The connection ended (answered, client gone, WebSocket closed). Commands handed to it and
   * not confirmed go back to pending, to be delivered again.
   */
  close(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.actor.send({ type: sub.mode === 'long-poll' ? 'CLIENT_GONE' : 'CLOSED' });
    sub.actor.stop();
    this.dispatcher.detach(sub);
    for (const id of [...sub.inFlight]) {
      if (!this.table.send(id, { type: 'TRANSPORT_FAILED', at: this.clock.now(), by: sub.who })) this.dispatcher.release(id);
    }
  }

  /**
   * The route's owner may no longer hold it (its agent was removed): its open subscriptions end now,
   * what they held unconfirmed goes back to pending, and each transport tells its client why.
   */
  revoke(route: string): void {
    for (const sub of this.dispatcher.subscriptionsOf(route)) {
      this.close(sub);
      sub.transport.revoked?.();
    }
  }

  /** Shutting down: every open subscription is answered and ended. */
  drain(): void {
    for (const sub of [...this.dispatcher.allSubscriptions()]) {
      sub.actor.send({ type: 'DRAIN' });
      sub.transport.drain();
      this.close(sub);
    }
  }
}
