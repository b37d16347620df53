import type { Logger } from 'pino';
import { errors } from '../errors.js';
import type { Static } from 'typebox';
import type { AgentLookup, AgentRoutesDeps } from '../agents-api/agent-routes.js';
import type { Enrollment } from '../agents-api/agent-enrollment.js';
import type { EnrollBody } from '../agents-api/schemas.js';
import type { Health, MetricsSource } from '../http/operational-routes.js';
import type { RefusalCounters } from '../metrics.js';
import type { ResultReport } from '../runtime/results.js';
import type { SubscriberTransport, SubscriptionMode } from '../runtime/subscription.js';
import type { OpenOptions } from '../runtime/subscriptions.js';
import type { PortSubscription, SupervisorPort } from '../runtime/supervisor-port.js';
import type { IpcChannel } from './ipc-channel.js';

/** What a connection worker's agents API asks of the primary, besides its supervisor. */
export interface WorkerServices {
  supervisor: SupervisorPort;
  agents: AgentLookup;
  authenticate: AgentRoutesDeps['authenticate'];
  enrollment: Enrollment;
  health: () => Health | Promise<Health>;
  metrics: MetricsSource;
  counters: RefusalCounters;
  logger: Logger;
}

/** A worker's connection as the primary's supervisor holds it. */
interface HeldConnection {
  subscription: PortSubscription;
  /** The worker was told it has no room (`hold`); its next `wake` clears it. */
  held: boolean;
  /** Its socket's bytes waiting to be written are over the bound (as the worker last said). */
  congested: boolean;
}

const COUNTERS = new Set<string>(['countRefusal', 'countConnectionRefused', 'countAuthenticationThrottled']);

/**
 * The primary's side of one connection worker: its connections' subscriptions, held by this
 * process's supervisor with a transport that posts back to the worker, and the calls its agents API
 * makes (authentication, enrollment, results, health, metrics).
 */
export class WorkerConnections {
  private readonly connections = new Map<number, HeldConnection>();

  constructor(
    private readonly channel: IpcChannel,
    private readonly services: WorkerServices,
  ) {
    const { supervisor, agents } = services;
    channel.on('subscribe', (id: number, route: string, mode: SubscriptionMode, who: string, options: OpenOptions, maxInFlight: number | null) =>
      this.subscribe(id, route, mode, who, options, maxInFlight),
    );
    channel.on('unsubscribe', (id: number) => {
      const connection = this.connections.get(id);
      this.connections.delete(id);
      if (connection) supervisor.unsubscribe(connection.subscription);
    });
    channel.on('written', (id: number) => this.withConnection(id, (c) => supervisor.written(c.subscription)));
    channel.on('wake', (id: number) =>
      this.withConnection(id, (c) => {
        c.held = false;
        supervisor.wake(c.subscription);
      }),
    );
    channel.on('congested', (id: number, over: boolean) =>
      this.withConnection(id, (c) => {
        c.congested = over;
        // Told to hold while its bytes were over the bound, and under it again since: the worker, not
        // held when its bytes fell, will not wake it; this does.
        if (!over && c.held) {
          c.held = false;
          supervisor.wake(c.subscription);
        }
      }),
    );
    // Ended connections have none in flight (a refresh racing the close).
    channel.serve('inFlight', (id: number) => this.connections.get(id)?.subscription.inFlightCount ?? 0);
    channel.serve('acknowledge', async (id: number, documentIds: string[]) => {
      const { subscription } = this.connection(id);
      await supervisor.acknowledge(subscription, documentIds);
      return subscription.inFlightCount;
    });
    channel.serve('results', async (reports: ResultReport[], route: string, who: string, id: number | null, acked: string[]) => {
      const subscription = id === null ? undefined : this.connections.get(id)?.subscription;
      const outcomes = await supervisor.reportResults(reports, route, who, subscription && { subscription, acked });
      return [outcomes, subscription?.inFlightCount ?? 0];
    });
    channel.serve('authenticate', (address: string, agentId: string, key: string) => services.authenticate(address, agentId, key));
    channel.serve('registration', (agentId: string) => agents.registration(agentId));
    channel.on('touch', (agentId: string, registration: string) => agents.touch(agentId, registration));
    channel.serve('enroll', (body: Static<typeof EnrollBody>, address: string) => services.enrollment.enroll(body, address));
    channel.serve('health', () => services.health());
    channel.serve('metrics', () => services.metrics.metrics());
    channel.on('count', (counter: string, args: unknown[]) => {
      if (COUNTERS.has(counter)) (services.counters[counter as keyof RefusalCounters] as (...a: unknown[]) => void).apply(services.counters, args);
    });
  }

  /** The worker is gone: its connections end here too (what they held goes back to pending). */
  endAll(): void {
    for (const { subscription } of this.connections.values()) this.services.supervisor.unsubscribe(subscription);
    this.connections.clear();
  }

  private subscribe(id: number, route: string, mode: SubscriptionMode, who: string, options: OpenOptions, maxInFlight: number | null): void {
    const { channel } = this;
    // What `room` reads, and `hold`/`wake`/`congested` set; kept as the connection once it has subscribed.
    const flow = { held: false, congested: false };
    const transport: SubscriberTransport = {
      push: (commands) => channel.post('push', id, commands),
      timedOut: () => channel.post('timedOut', id),
      drain: () => channel.post('drain', id),
      revoked: () => channel.post('revoked', id),
      ...(maxInFlight === null
        ? {}
        : {
            // The socket's room as the worker's flow would count it, from its last word on its bytes.
            room: (inFlight: number) => {
              const room = flow.congested ? 0 : Math.max(0, maxInFlight - inFlight);
              if (room === 0 && !flow.held) {
                flow.held = true;
                channel.post('hold', id);
              }
              return room;
            },
          }),
    };
    try {
      const subscription = this.services.supervisor.subscribe(route, mode, who, transport, options);
      this.connections.set(id, Object.assign(flow, { subscription }));
    } catch (error) {
      this.services.logger.warn({ err: error, route }, 'a connection of a worker could not subscribe: ended');
      channel.post('drain', id);
    }
  }

  private connection(id: number): HeldConnection {
    const connection = this.connections.get(id);
    if (!connection) throw errors.VALIDATION('Not awaiting an ack on this connection: it has ended');
    return connection;
  }

  private withConnection(id: number, act: (connection: HeldConnection) => void): void {
    const connection = this.connections.get(id);
    if (connection) act(connection);
  }
}
