import { readdir } from 'node:fs/promises';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { COMMAND_STATUSES, type CommandStatus } from './domain/command.js';
import { JOB_STATUSES, type JobStatus } from './domain/job.js';

export interface MetricsSources {
  countByStatus(): Promise<Record<CommandStatus, number>>;
  /** The jobs this node drives, by status, and how many commands they made here. */
  jobs?: () => { byStatus: Record<JobStatus, number>; commandsMade: number };
  stats(): { liveCommands: number; longPollSubscriptions: number; webSocketSubscriptions: number; longPollAnswersAwaitingAck: number };
}

/** The refusal counters, which the APIs (and the connection workers, through the primary) add to. */
export type RefusalCounters = Pick<Metrics, 'countRefusal' | 'countConnectionRefused' | 'countAuthenticationThrottled'>;

/** Courier's Prometheus metrics, in a registry of its own (several instances may share a process in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly dispatchLatency = new Histogram({
    name: 'courier_dispatch_latency_seconds',
    help: 'From the moment a pending command and a subscriber of its target coexist to the transport confirming delivery',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Every refused request, audited or not (the audit trail throttles anonymous ones). */
  readonly refusals = new Counter({
    name: 'courier_refusals_total',
    help: 'Requests refused for authentication or authorisation (401, 403), by API and error code',
    labelNames: ['api', 'code'],
    registers: [this.registry],
  });

  /** Connections refused at accept: their address had too many unauthenticated connections open. */
  readonly refusedConnections = new Counter({
    name: 'courier_connections_refused_total',
    help: 'Connections refused at accept because their source address had too many unauthenticated connections open, by API',
    labelNames: ['api'],
    registers: [this.registry],
  });

  /** Authentications answered 429 without being tried: too many failures from their address, or for their identity. */
  readonly throttledAuthentications = new Counter({
    name: 'courier_authentication_throttled_total',
    help: 'Authentication attempts refused (429) without being tried, after too many failures from their source address or for their identity (agent id, API key), by API and by which limit',
    labelNames: ['api', 'by'],
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    scrapedWithoutWalkingConnections(this.registry);
    new Gauge({
      name: 'courier_commands',
      help: 'Commands in the store by status',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const counts = await sources.countByStatus();
        for (const status of COMMAND_STATUSES) this.set({ status }, counts[status]);
      },
    });
    const { jobs } = sources;
    if (jobs) {
      new Gauge({
        name: 'courier_jobs',
        help: 'Jobs driven by this node, by status (a finished job is let go, and no longer counted)',
        labelNames: ['status'],
        registers: [this.registry],
        collect() {
          const { byStatus } = jobs();
          for (const status of JOB_STATUSES) this.set({ status }, byStatus[status]);
        },
      });
      new Gauge({
        name: 'courier_jobs_commands_made',
        help: 'Commands the jobs driven by this node made since it started (steps, next steps and retries)',
        registers: [this.registry],
        collect() {
          this.set(jobs().commandsMade);
        },
      });
    }
    new Gauge({
      name: 'courier_live_commands',
      help: 'Unfinished commands held as live actors by the supervisor',
      registers: [this.registry],
      collect() {
        this.set(sources.stats().liveCommands);
      },
    });
    new Gauge({
      name: 'courier_subscriptions',
      help: 'Live subscriptions by transport',
      labelNames: ['mode'],
      registers: [this.registry],
      collect() {
        const stats = sources.stats();
        this.set({ mode: 'long-poll' }, stats.longPollSubscriptions);
        this.set({ mode: 'websocket' }, stats.webSocketSubscriptions);
      },
    });
    new Gauge({
      name: 'courier_long_poll_answers_awaiting_ack',
      help: "Long-poll answers written to agents that acknowledge, waiting for the agent's next poll to name what it read",
      registers: [this.registry],
      collect() {
        this.set(sources.stats().longPollAnswersAwaitingAck);
      },
    });
  }

  countRefusal(api: 'agents' | 'management', code: string): void {
    this.refusals.inc({ api, code });
  }

  countConnectionRefused(api: 'agents' | 'management'): void {
    this.refusedConnections.inc({ api });
  }

  countAuthenticationThrottled(api: 'agents' | 'management', by: 'address' | 'identity'): void {
    this.throttledAuthentications.inc({ api, by });
  }

  observeDispatch(latencyMs: number): void {
    this.dispatchLatency.observe(latencyMs / 1000);
  }
}

/**
 * Node's default metrics that cost a walk over every open connection at each scrape, on the event
 * loop: the active handles and resources (an object or string per socket, grouped by type) and the
 * open file descriptors (a synchronous read of /proc/self/fd). With 10,000 agents connected a scrape
 * held the event loop 45–60 ms (measured: the long-poll dispatch tail of the benchmark). The handles
 * and resources are dropped (courier's own gauges count its connections); the descriptors are counted
 * by a read on libuv's thread pool.
 */
function scrapedWithoutWalkingConnections(registry: Registry): void {
  for (const name of ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources', 'nodejs_active_resources_total', 'process_open_fds']) {
    registry.removeSingleMetric(name);
  }
  if (process.platform !== 'linux') return;
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers: [registry],
    async collect() {
      try {
        // Less the descriptor the read itself held open.
        this.set((await readdir('/proc/self/fd')).length - 1);
      } catch {
        // Not readable here (a sandbox): the gauge keeps its last value.
      }
    },
  });
}
