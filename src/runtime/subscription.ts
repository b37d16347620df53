import type { AnyActorRef, StateValue } from 'xstate';
import type { LongPollEvent } from '../../machines/long-poll-subscription.machine.js';
import type { WebSocketSubscriptionEvent } from '../../machines/websocket-subscription.machine.js';
import type { CommandView } from '../domain/command.js';

export type SubscriptionMode = 'long-poll' | 'websocket';

/** What a transport (HTTP long-poll, WebSocket) lets the supervisor do with its connection. */
export interface SubscriberTransport {
  /** Hand claimed commands to the connection; the transport later confirms or fails them. */
  push(commands: CommandView[]): void;
  /** Long-poll only: nothing arrived in time; answer 408. */
  timedOut?(): void;
  /** The server is shutting down: end the connection now. */
  drain(): void;
  /** The client may no longer hold the route (its agent was removed): refuse it and end the connection. */
  revoked?(): void;
  /**
   * WebSocket: how many more commands the connection may take now, with `inFlight` unconfirmed
   * (0: it is full; its transport calls `Supervisor.wake` once it has room again). Absent: no bound.
   */
  room?(inFlight: number): number;
  /**
   * For a supervisor in another process, which cannot ask `room` in its turn: the most commands the
   * connection may hold unconfirmed, and what it is told when the supervisor found it full.
   */
  readonly maxInFlight?: number;
  hold?(): void;
}

/** The events a subscription's machine takes (a WebSocket's are a long-poll's but `WRITTEN` and `ACKED`). */
export type SubscriptionEvent = LongPollEvent | WebSocketSubscriptionEvent;

/**
 * How a subscription's machine runs (see subscription-lifecycles.ts): a long-poll's as an actor, a
 * WebSocket's advanced by its compiled transition. Either way its machine holds what it was handed.
 */
export interface SubscriptionLifecycle {
  send(event: SubscriptionEvent): void;
  /** Handed to it (claimed for it) and not yet confirmed. */
  readonly inFlight: ReadonlySet<string>;
  /** Not in a final state, not stopped. */
  readonly active: boolean;
  /** In a state tagged `accepting` (it may be handed commands). */
  readonly accepting: boolean;
  /** The machine's current state. */
  readonly state: StateValue;
  stop(): void;
  /** The actor the inspector watches, if any. */
  readonly inspected: AnyActorRef | null;
}

let nextId = 0;

/**
 * One live subscription of a route: its transport, and its lifecycle (a long-poll or a WebSocket
 * subscription machine, see `machines/`), which holds the commands handed to it and not yet confirmed.
 */
export class Subscription {
  readonly id = `sub-${++nextId}`;
  /** Set once, by `Subscriptions.open`. */
  lifecycle!: SubscriptionLifecycle;

  constructor(
    readonly route: string,
    readonly mode: SubscriptionMode,
    /** Who it is, for the audit trail: `agent:<id>` or `component:<id>`. */
    readonly who: string,
    readonly openedAt: number,
    readonly transport: SubscriberTransport,
  ) {}

  /** An event to its machine. */
  send(event: SubscriptionEvent): void {
    this.lifecycle.send(event);
  }

  /** Claimed for it and not yet confirmed by its transport. */
  get inFlight(): ReadonlySet<string> {
    return this.lifecycle.inFlight;
  }

  get inFlightCount(): number {
    return this.lifecycle.inFlight.size;
  }

  /** Ended: it is handed nothing more. */
  get closed(): boolean {
    return !this.lifecycle.active;
  }

  /** How many more commands it may be handed now: none unless its machine accepts them, then up to its transport's bound. */
  get room(): number {
    if (!this.lifecycle.accepting) return 0;
    return this.transport.room?.(this.lifecycle.inFlight.size) ?? Infinity;
  }

  get canTakeMore(): boolean {
    return this.room > 0;
  }

  /** What the inspector shows of it when it travels in an event. */
  toJSON() {
    return { id: this.id, route: this.route, mode: this.mode, who: this.who };
  }
}
