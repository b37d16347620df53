import { createActor, type AnyActorRef } from 'xstate';
import { longPollSubscriptionMachine } from '../../machines/long-poll-subscription.machine.js';
import type { Clock } from './clock.js';
import type { ActorErrorHandler, InspectObserver } from './actor-observers.js';
import type { CommandTable } from './command-table.js';
import type { Dispatcher } from './dispatcher.js';
import { Subscription, type SubscriberTransport, type SubscriptionMode } from './subscription.js';
import { ActorLifecycle, SteppedLifecycle, type WebSocketEffects } from './subscription-lifecycles.js';

/** How a subscription is opened: its transport's answer timeout, and whether its agent acknowledges. */
export interface OpenOptions {
  /** Long-poll: how long the request is held before a 408 (ms). */
  longPollTimeoutMs?: number;
  /**
   * Long-poll: the `document_id`s the agent read from its previous answer; present (even empty),
   * it declares an acknowledging agent. Null: it does not acknowledge.
   */
  acked?: readonly string[] | null;
}

/**
 * Subscriptions opened and ended. Each runs its machine (`machines/`: a long-poll's as a root actor,
 * a WebSocket's stepped, see subscription-lifecycles.ts), which holds what it was handed and names
 * its effects, provided here by name: `detach` (out of its route),
 * `confirmDelivery` (→ delivered), `handBack` (what it held unconfirmed goes back to its
 * commands' machines: pending again, delivered again), `answerTimeout`, `answerDrain`.
 */
export class Subscriptions {
  private readonly byActor = new WeakMap<AnyActorRef, Subscription>();
  /** Per route, its acknowledging long-polls not ended yet: the route's next poll settles them. */
  private readonly acking = new Map<string, Set<Subscription>>();
  private readonly longPoll;
  /** The subscription machines' effects shared by both (a long-poll's actor calls them through its `self`). */
  private readonly effects: WebSocketEffects;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly table: CommandTable,
    private readonly clock: Clock,
    private readonly onError: ActorErrorHandler,
    private readonly inspect: InspectObserver | undefined,
    /** Most acknowledged ids read from the store per poll (one answer's worth: `--max-commands-per-delivery`). */
    private readonly maxFetchedAcks: number,
  ) {
    const of = (self: AnyActorRef) => this.byActor.get(self);
    this.effects = {
      detach: (sub) => this.dispatcher.detach(sub),
      handBack: (sub, inFlight) => {
        const at = this.clock.now();
        this.dispatcher.releasing(() => {
          for (const id of inFlight) {
            // Only what it still holds: an id released a moment ago may be another connection's now.
            if (this.dispatcher.ownerOf(id) !== sub) continue;
            if (!this.table.send(id, { type: 'TRANSPORT_FAILED', at, by: sub.who })) this.dispatcher.release(id);
          }
        });
      },
      answerDrain: (sub) => sub.transport.drain(),
    };
    const effects = this.effects;
    // A long-poll's actor names itself (`self`); its subscription is looked up, and gone once it ended.
    const forSub =
      (run: (sub: Subscription, inFlight: ReadonlySet<string>) => void) =>
      ({ self, context }: { self: AnyActorRef; context: { inFlight: ReadonlySet<string> } }) => {
        const sub = of(self);
        if (sub) run(sub, context.inFlight);
      };
    this.longPoll = longPollSubscriptionMachine.provide({
      actions: {
        detach: forSub((sub) => effects.detach(sub)),
        handBack: forSub((sub, inFlight) => effects.handBack(sub, inFlight)),
        answerDrain: forSub((sub) => effects.answerDrain(sub)),
        confirmDelivery: ({ self }, { ids }) => {
          const sub = of(self);
          if (sub) this.confirm(sub, ids);
        },
        answerTimeout: ({ self }) => of(self)?.transport.timedOut?.(),
      },
    });
  }

  /**
   * Opens a subscription of `route`. Any acknowledging long-poll of the route still holding an
   * answer is settled first (what `acked` names is delivered, the rest pending again), so that
   * what the agent did not read is in this subscription's first answer.
   */
  open(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, options: OpenOptions = {}): Subscription {
    const acked = options.acked ?? null;
    this.settle(route, who, acked ?? []);
    const sub = new Subscription(route, mode, who, this.clock.now(), transport);
    const inspection = this.inspect ? { inspect: this.inspect, id: `${who} ${sub.id}` } : null;
    if (mode === 'long-poll') {
      const actor = createActor(this.longPoll, { input: { timeoutMs: options.longPollTimeoutMs ?? 0, acking: acked !== null }, ...inspection });
      this.byActor.set(actor, sub);
      actor.subscribe({ error: this.onError, complete: () => this.forgetAcking(sub) });
      sub.lifecycle = new ActorLifecycle(actor);
      if (acked !== null) this.acking.set(route, (this.acking.get(route) ?? new Set()).add(sub));
      this.dispatcher.add(sub);
      actor.start();
    } else {
      sub.lifecycle = new SteppedLifecycle(sub, this.effects, this.onError, inspection);
      this.dispatcher.add(sub);
    }
    return sub;
  }

  /** The transport confirmed these commands: those `sub` holds are told (→ delivered). Returns them. */
  confirm(sub: Subscription, documentIds: readonly string[]): string[] {
    const held = sub.inFlight;
    const confirmed = documentIds.filter((id) => held.has(id));
    const at = this.clock.now();
    // Leaving its claimed state releases each from `sub` (`releaseFromConnection`), told once for all.
    this.dispatcher.releasing(() => {
      for (const id of confirmed) if (!this.table.send(id, { type: 'TRANSPORT_CONFIRMED', at, by: sub.who })) this.dispatcher.release(id);
    });
    return confirmed;
  }

  /** A long-poll's answer was written out to its socket: its machine decides whether that counts as delivery. */
  written(sub: Subscription): void {
    if (sub.mode === 'long-poll') sub.send({ type: 'WRITTEN' });
  }

  /**
   * The connection ended (answered, client gone, WebSocket closed): its machine hands back what it
   * held, unless an acknowledging agent's answer was written out (it waits for the agent's next poll).
   */
  close(sub: Subscription): void {
    if (sub.closed) return;
    sub.send({ type: 'CLOSED' });
  }

  /**
   * The route's owner may no longer hold it (its agent was removed): its open subscriptions end now,
   * what they held unconfirmed goes back to pending, and each transport tells its client why.
   */
  revoke(route: string): void {
    // An answer it read and never acknowledged does not count either.
    this.settle(route, `route:${route}`, []);
    for (const sub of this.dispatcher.subscriptionsOf(route)) {
      this.close(sub);
      sub.transport.revoked?.();
    }
  }

  /** Shutting down: every open subscription is answered and ended. */
  drain(): void {
    for (const sub of [...this.dispatcher.allSubscriptions(), ...this.awaitingAck()]) {
      sub.send({ type: 'DRAIN' });
      sub.lifecycle.stop();
    }
  }

  /** Acknowledging long-polls answered and not yet acknowledged (ended for their route, alive for the inspector). */
  *awaitingAck(): Generator<Subscription> {
    for (const subs of this.acking.values()) for (const sub of subs) if (!this.dispatcher.isAttached(sub)) yield sub;
  }

  /**
   * The route's agent polled (or connected) again, having read `acked`: each of its acknowledging
   * long-polls confirms what it holds of those, and hands back the rest. An id held by no
   * subscription here may be `sent` by another node's answer (the agent's polls go to either):
   * that one is confirmed too, if it is the route's, read from the store first if this node has
   * not seen it yet.
   */
  private settle(route: string, who: string, acked: readonly string[]): void {
    const subs = this.acking.get(route);
    if (subs) for (const sub of [...subs]) if (!this.dispatcher.isAttached(sub)) sub.send({ type: 'ACKED', ids: [...acked] });
    // Only those still claimed and held by no connection here: the ones the answers above held are settled already.
    const confirmHere = (ids: readonly string[]) => {
      const at = this.clock.now();
      for (const id of ids) {
        const live = this.table.get(id);
        if (live?.hasTag('claimed') && live.doc.route === route && !this.dispatcher.isInFlight(id)) void live.send({ type: 'TRANSPORT_CONFIRMED', at, by: who });
      }
    };
    confirmHere(acked);
    // Answered by another node a moment ago, so not live here yet: read them (at most one answer's worth), then confirm.
    const unknown = acked.filter((id) => !this.table.get(id)).slice(0, this.maxFetchedAcks);
    if (unknown.length > 0) {
      this.table
        .fetch(unknown)
        .then(() => confirmHere(unknown))
        .catch((err: unknown) => this.onError(err));
    }
  }

  private forgetAcking(sub: Subscription): void {
    const subs = this.acking.get(sub.route);
    if (subs?.delete(sub) && subs.size === 0) this.acking.delete(sub.route);
  }
}
