import type { Actor } from 'xstate';
import type { longPollSubscriptionMachine } from '../../machines/long-poll-subscription.machine.js';
import type { webSocketSubscriptionMachine } from '../../machines/websocket-subscription.machine.js';
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
}

export type SubscriptionActor = Actor<typeof longPollSubscriptionMachine> | Actor<typeof webSocketSubscriptionMachine>;

let nextId = 0;

/**
 * One live subscription of a route: its transport, and the actor that runs its lifecycle (a
 * long-poll or a WebSocket subscription machine, see `machines/`), which holds the commands
 * handed to it and not yet confirmed.
 */
export class Subscription {
  readonly id = `sub-${++nextId}`;
  /** Set once, by `Subscriptions.open`. */
  actor!: SubscriptionActor;

  constructor(
    readonly route: string,
    readonly mode: SubscriptionMode,
    /** Who it is, for the audit trail: `agent:<id>` or `component:<id>`. */
    readonly who: string,
    readonly openedAt: number,
    readonly transport: SubscriberTransport,
  ) {}

  /** Its actor, if it is a long-poll (the events only a long-poll takes: `WRITTEN`, `ACKED`). */
  get longPollActor(): Actor<typeof longPollSubscriptionMachine> | null {
    return this.mode === 'long-poll' ? (this.actor as Actor<typeof longPollSubscriptionMachine>) : null;
  }

  /** Claimed for it and not yet confirmed by its transport. */
  get inFlight(): ReadonlySet<string> {
    return this.actor.getSnapshot().context.inFlight;
  }

  /** Ended: it is handed nothing more. */
  get closed(): boolean {
    return this.actor.getSnapshot().status !== 'active';
  }

  /** How many more commands it may be handed now: none unless its machine accepts them, then up to its transport's bound. */
  get room(): number {
    const snapshot = this.actor.getSnapshot();
    if (!snapshot.hasTag('accepting')) return 0;
    return this.transport.room?.(snapshot.context.inFlight.size) ?? Infinity;
  }

  get canTakeMore(): boolean {
    return this.room > 0;
  }

  /** What the inspector shows of it when it travels in an event. */
  toJSON() {
    return { id: this.id, route: this.route, mode: this.mode, who: this.who };
  }
}
