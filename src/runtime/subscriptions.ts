import { createActor, type AnyActorRef } from 'xstate';
import { longPollSubscriptionMachine } from '../../machines/long-poll-subscription.machine.js';
import { webSocketSubscriptionMachine } from '../../machines/websocket-subscription.machine.js';
import type { Clock } from './clock.js';
import type { ActorErrorHandler, InspectObserver } from './actor-observers.js';
import type { CommandTable } from './command-table.js';
import type { Dispatcher } from './dispatcher.js';
import { Subscription, type SubscriberTransport, type SubscriptionMode } from './subscription.js';

/**
 * Subscriptions opened and ended. Each is a root actor whose machine (`machines/`) holds what it
 * was handed and names its effects, provided here by name: `detach` (out of its route),
 * `handBack` (what it held unconfirmed goes back to its commands' machines: pending again,
 * delivered again), `answerTimeout`, `answerDrain`.
 */
export class Subscriptions {
  private readonly byActor = new WeakMap<AnyActorRef, Subscription>();
  private readonly longPoll;
  private readonly webSocket;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly table: CommandTable,
    private readonly clock: Clock,
    private readonly onError: ActorErrorHandler,
    private readonly inspect: InspectObserver | undefined,
  ) {
    const of = (self: AnyActorRef) => this.byActor.get(self);
    const effects = {
      detach: ({ self }: { self: AnyActorRef }) => {
        const sub = of(self);
        if (sub) this.dispatcher.detach(sub);
      },
      handBack: ({ self, context }: { self: AnyActorRef; context: { inFlight: ReadonlySet<string> } }) => {
        const sub = of(self);
        if (!sub) return;
        const at = this.clock.now();
        this.dispatcher.releasing(() => {
          for (const id of context.inFlight) {
            // Only what it still holds: an id released a moment ago may be another connection's now.
            if (this.dispatcher.ownerOf(id) !== sub) continue;
            if (!this.table.send(id, { type: 'TRANSPORT_FAILED', at, by: sub.who })) this.dispatcher.release(id);
          }
        });
      },
      answerDrain: ({ self }: { self: AnyActorRef }) => of(self)?.transport.drain(),
    };
    this.longPoll = longPollSubscriptionMachine.provide({ actions: { ...effects, answerTimeout: ({ self }) => of(self)?.transport.timedOut?.() } });
    this.webSocket = webSocketSubscriptionMachine.provide({ actions: effects });
  }

  open(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, longPollTimeoutMs: number): Subscription {
    const sub = new Subscription(route, mode, who, this.clock.now(), transport);
    const inspection = this.inspect ? { inspect: this.inspect, id: `${who} ${sub.id}` } : {};
    sub.actor = mode === 'long-poll' ? createActor(this.longPoll, { input: { timeoutMs: longPollTimeoutMs }, ...inspection }) : createActor(this.webSocket, inspection);
    const actor: AnyActorRef = sub.actor;
    this.byActor.set(actor, sub);
    actor.subscribe({ error: this.onError });
    this.dispatcher.add(sub);
    sub.actor.start();
    return sub;
  }

  /** The transport confirmed these commands: those `sub` holds are told (→ delivered). Returns them. */
  confirm(sub: Subscription, documentIds: string[]): string[] {
    const held = sub.inFlight;
    const confirmed = documentIds.filter((id) => held.has(id));
    const at = this.clock.now();
    // Leaving its claimed state releases each from `sub` (`releaseFromConnection`), told once for all.
    this.dispatcher.releasing(() => {
      for (const id of confirmed) if (!this.table.send(id, { type: 'TRANSPORT_CONFIRMED', at, by: sub.who })) this.dispatcher.release(id);
    });
    return confirmed;
  }

  /** The connection ended (answered, client gone, WebSocket closed): its machine hands back what it held. */
  close(sub: Subscription): void {
    if (sub.closed) return;
    sub.actor.send({ type: 'CLOSED' });
    sub.actor.stop();
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
      sub.actor.stop();
    }
  }
}
