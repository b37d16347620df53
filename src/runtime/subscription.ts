import { createActor, type AnyActorRef } from 'xstate';
import { longPollSubscriptionMachine } from '../../machines/long-poll-subscription.machine.js';
import { webSocketSubscriptionMachine } from '../../machines/websocket-subscription.machine.js';
import type { CommandView } from '../domain/command.js';
import type { ActorErrorHandler, InspectObserver } from './actor-observers.js';

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
}

let nextId = 0;

/**
 * One live subscription of a route, with the actor that runs its lifecycle and the commands
 * handed to it that its transport has not yet confirmed.
 */
export class Subscription {
  readonly id = `sub-${++nextId}`;
  /** A long-poll or a WebSocket subscription machine (see `machines/`). */
  readonly actor: AnyActorRef;
  /** Claimed for this subscription, not yet confirmed by its transport. */
  readonly inFlight = new Set<string>();
  closed = false;

  constructor(
    readonly route: string,
    readonly mode: SubscriptionMode,
    /** Who it is, for the audit trail: `agent:<id>` or `component:<id>`. */
    readonly who: string,
    readonly openedAt: number,
    readonly transport: SubscriberTransport,
    onError: ActorErrorHandler,
    longPollTimeoutMs = 0,
    inspect?: InspectObserver,
  ) {
    const inspection = inspect ? { inspect, id: `${who} ${this.id}` } : {};
    this.actor =
      mode === 'long-poll'
        ? createActor(longPollSubscriptionMachine, { input: { timeoutMs: longPollTimeoutMs }, ...inspection })
        : createActor(webSocketSubscriptionMachine, inspection);
    this.actor.subscribe({ error: onError });
  }

  /** How many more commands it may be handed now: a long-poll answers once; a WebSocket takes pushes up to its transport's bound. */
  get room(): number {
    if (this.closed || this.actor.getSnapshot().status !== 'active') return 0;
    if (this.mode === 'long-poll') return this.inFlight.size === 0 ? Infinity : 0;
    return this.transport.room?.(this.inFlight.size) ?? Infinity;
  }

  get canTakeMore(): boolean {
    return this.room > 0;
  }
}
