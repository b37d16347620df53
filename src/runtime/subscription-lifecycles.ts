import { createActor, type Actor, type AnyActorRef, type StateValue } from 'xstate';
import type { longPollSubscriptionMachine, LongPollEvent } from '../../machines/long-poll-subscription.machine.js';
import { webSocketSubscriptionMachine, type WebSocketSubscriptionEvent } from '../../machines/websocket-subscription.machine.js';
import type { ActorErrorHandler, InspectObserver } from './actor-observers.js';
import { machineStepper, type FlatSnapshotOf } from './machine-stepper.js';
import type { Subscription, SubscriptionLifecycle } from './subscription.js';

/** A long-poll's machine, run as an actor: it has a timer (`after`) and an eventless transition of its own. */
export class ActorLifecycle implements SubscriptionLifecycle {
  constructor(private readonly actor: Actor<typeof longPollSubscriptionMachine>) {}

  send(event: LongPollEvent): void {
    this.actor.send(event);
  }

  get inFlight(): ReadonlySet<string> {
    return this.actor.getSnapshot().context.inFlight;
  }

  get active(): boolean {
    return this.actor.getSnapshot().status === 'active';
  }

  get accepting(): boolean {
    return this.actor.getSnapshot().hasTag('accepting');
  }

  get state(): StateValue {
    return this.actor.getSnapshot().value;
  }

  stop(): void {
    this.actor.stop();
  }

  get inspected(): AnyActorRef {
    return this.actor;
  }
}

/** The WebSocket machine's effects, implemented by the runtime, by name. */
export interface WebSocketEffects {
  detach(sub: Subscription): void;
  handBack(sub: Subscription, inFlight: ReadonlySet<string>): void;
  answerDrain(sub: Subscription): void;
}

type WebSocketSnapshot = FlatSnapshotOf<typeof webSocketSubscriptionMachine>;
const stepWebSocket = machineStepper(webSocketSubscriptionMachine);
const states = webSocketSubscriptionMachine.root.states;
/** The machine's initial state, from its definition. */
const initial = webSocketSubscriptionMachine.root.initial.target[0]!.key as WebSocketSnapshot['value'];

/**
 * A WebSocket's machine, advanced by its compiled transition (see machine-stepper.ts) as a command's
 * is: it takes two events per command it is handed (`HANDED`, `RELEASED`), and an actor's
 * macrostep for each was a tenth of courier's CPU at saturation (measured). The actions the machine
 * names are run by name, after the step, with the subscription in its new state. With inspection on,
 * a mirror actor takes the same events, so that the inspector shows the subscription as before.
 */
export class SteppedLifecycle implements SubscriptionLifecycle {
  private snapshot: WebSocketSnapshot = { value: initial, context: { inFlight: new Set() }, status: 'active' };
  private stopped = false;
  private readonly mirror: Actor<typeof webSocketSubscriptionMachine> | null;

  constructor(
    private readonly sub: Subscription,
    private readonly effects: WebSocketEffects,
    private readonly onError: ActorErrorHandler,
    inspect: { inspect: InspectObserver; id: string } | null,
  ) {
    this.mirror = inspect ? createActor(webSocketSubscriptionMachine, inspect) : null;
    this.mirror?.subscribe({ error: onError });
    this.mirror?.start();
  }

  send(event: WebSocketSubscriptionEvent): void {
    if (this.stopped) return;
    const [next, actions] = stepWebSocket(this.snapshot, event);
    if (next === this.snapshot) return;
    this.snapshot = next;
    this.mirror?.send(event);
    for (const action of actions) {
      try {
        // The machine's names are the keys of `WebSocketEffects` (a test checks both ways).
        const name = action.type as keyof WebSocketEffects;
        if (name === 'handBack') this.effects.handBack(this.sub, next.context.inFlight);
        else this.effects[name](this.sub);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  get inFlight(): ReadonlySet<string> {
    return this.snapshot.context.inFlight;
  }

  get active(): boolean {
    return !this.stopped && this.snapshot.status === 'active';
  }

  get accepting(): boolean {
    return this.active && states[this.snapshot.value]!.tags.includes('accepting');
  }

  get state(): StateValue {
    return this.snapshot.value;
  }

  stop(): void {
    this.stopped = true;
    this.mirror?.stop();
  }

  get inspected(): AnyActorRef | null {
    return this.mirror;
  }
}
