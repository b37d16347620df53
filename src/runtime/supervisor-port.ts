import { errors } from '../errors.js';
import type { ResultOutcome, ResultReport } from './results.js';
import { Subscription, type SubscriberTransport, type SubscriptionMode } from './subscription.js';
import type { OpenOptions } from './subscriptions.js';
import type { Supervisor } from './supervisor.js';

/** A connection's subscription as the API that holds the connection sees it. */
export interface PortSubscription {
  /** Ended: it is handed nothing more. */
  readonly closed: boolean;
  /** Commands handed to it and not yet confirmed, as last known. */
  readonly inFlightCount: number;
}

/** The connection a frame of results arrived on, and the acks it carried (possibly none). */
export interface ReportingConnection {
  subscription: PortSubscription;
  acked: readonly string[];
}

/**
 * What an API that holds agents' connections (long-polls, WebSockets) asks of the supervisor. In the
 * courier process it is the supervisor itself (`localSupervisorPort`); in a connection worker
 * (`--workers`) the same calls travel to the supervisor of the primary process.
 */
export interface SupervisorPort {
  /** The supervisor takes events (it is not starting, draining or stopped). */
  readonly running: boolean;
  subscribe(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, options?: OpenOptions): PortSubscription;
  unsubscribe(subscription: PortSubscription): void;
  /** A long-poll's answer was written out to its socket. */
  written(subscription: PortSubscription): void;
  /** A subscription that was full has room again. */
  wake(subscription: PortSubscription): void;
  /** A WebSocket's bytes waiting to be written out crossed its bound (true), or fell under it. */
  congested(subscription: PortSubscription, over: boolean): void;
  /** Brings the subscription's `inFlightCount` up to date (a copy, when the supervisor is in another process). */
  refreshInFlight(subscription: PortSubscription): Promise<void>;
  /** The agent acknowledged these commands (→ delivered): all in flight on the subscription, or none taken. */
  acknowledge(subscription: PortSubscription, documentIds: readonly string[]): Promise<void>;
  /**
   * Results of the route's commands; `connection`: the subscription whose connection reported them,
   * and the same frame's acks, confirmed first (those naming a command whose result is in the frame
   * may have left the connection already, see `acksWithResults`).
   */
  reportResults(reports: ResultReport[], route: string, who: string, connection?: ReportingConnection): Promise<ResultOutcome[]>;
}

/** The supervisor of this process as a `SupervisorPort`. */
export function localSupervisorPort(supervisor: Supervisor): SupervisorPort {
  return {
    get running() {
      return supervisor.running;
    },
    subscribe: (route, mode, who, transport, options) => supervisor.subscribe(route, mode, who, transport, options),
    unsubscribe: (subscription) => supervisor.unsubscribe(own(subscription)),
    written: (subscription) => supervisor.written(own(subscription)),
    wake: (subscription) => supervisor.wake(own(subscription).route),
    // Its transport's `room` reads the socket's bytes itself.
    congested: () => {},
    // Read from the subscription itself: always current.
    refreshInFlight: async () => {},
    // Not awaiting anything: the acks are taken in the caller's turn, as a frame's next ones must see them taken.
    acknowledge: async (subscription, documentIds) => {
      const sub = own(subscription);
      supervisor.confirm(sub, awaitingAck(sub, documentIds));
    },
    reportResults: (reports, route, who, connection) => {
      if (connection === undefined || connection.acked.length === 0) return supervisor.reportResults(reports, route, who);
      const subscription = own(connection.subscription);
      return supervisor.reportResults(reports, route, who, { subscription, documentIds: acksWithResults(subscription, connection.acked, reports) });
    },
  };
}

function own(subscription: PortSubscription): Subscription {
  if (!(subscription instanceof Subscription)) throw errors.INTERNAL();
  return subscription;
}

/** The commands named, if every one is in flight on this connection; else none is taken (all or nothing). */
function awaitingAck(sub: Subscription, ids: readonly string[]): Set<string> {
  const named = new Set(ids);
  const unknown = [...named].filter((id) => !sub.inFlight.has(id));
  if (unknown.length > 0) throw errors.VALIDATION(`Not awaiting an ack on this connection: [${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', …' : ''}]`);
  return named;
}

/**
 * The acks of a `results` frame that are to be confirmed. An ack of a command whose result is in the
 * same frame may name one no longer in flight here (an earlier frame's result ended it, a redelivery
 * raced it): its result takes it off the connection anyway, so it is passed over rather than refusing
 * the frame, whose other results would be lost with it. Any other ack not in flight refuses the frame.
 */
function acksWithResults(sub: Subscription, ids: readonly string[], reports: readonly { document_id: string }[]): Set<string> {
  const reported = new Set(reports.map((r) => r.document_id));
  return awaitingAck(
    sub,
    ids.filter((id) => sub.inFlight.has(id) || !reported.has(id)),
  );
}
