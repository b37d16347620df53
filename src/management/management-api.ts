import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { ApiKeys } from '../auth/api-keys.js';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import { registerEnrollmentTokenRoutes } from '../operator-routes/enrollment-token-routes.js';
import { registerKeyRoutes } from '../operator-routes/key-routes.js';
import { scopedKeyPolicy } from './key-policy.js';
import { createHttpApp } from '../http/app.js';
import type { TlsServerOptions } from '../tls/server-tls.js';
import { registerCommandRoutes } from '../operator-routes/command-routes.js';
import { registerJobRoutes } from '../operator-routes/job-routes.js';
import type { Jobs } from '../jobs/jobs.js';
import type { Clock } from '../runtime/clock.js';
import { scopedJobPolicy } from './job-policy.js';
import { registerOperationalRoutes, type Health } from '../http/operational-routes.js';
import type { Metrics } from '../metrics.js';
import type { AgentRegistry } from '../auth/agent-registry.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { OperatorStore } from '../store/operator-store.js';
import type { CommandStore } from '../store/store.js';
import { AuthenticationGuard } from '../http/authentication-guard.js';
import { AuthenticationFailures, logAuthenticationFailures } from '../http/authentication-failures.js';
import { countRefusals } from '../http/refusal-metrics.js';
import { errors } from '../errors.js';
import { UnauthenticatedConnections } from '../http/unauthenticated-connections.js';
import { Access } from './access.js';
import { registerManagementAgentRoutes } from './agent-routes.js';
import { scopedCommandPolicy } from './command-policy.js';
import { scopedTokenPolicy } from './enrollment-token-policy.js';
import { registerEventStream } from '../operator-routes/event-stream.js';
import { registerQueryRoutes } from '../operator-routes/query-routes.js';
import { registerClusterRoutes } from './cluster-routes.js';
import type { AgentListDeps } from '../operator-routes/agent-list.js';
import { registerConsoleRoutes } from '../console/console-routes.js';
import type { LiveStateTally } from '../domain/live-states.js';

export interface ManagementApiDeps {
  logger: Logger;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** HTTPS options; absent: plain HTTP (`--insecure-http`). */
  tls?: TlsServerOptions | undefined;
  maxUnauthenticatedPerAddress: number;
  authFailuresPerMinute: number;
  node: string;
  now: () => number;
  supervisor: Supervisor;
  jobs: Jobs;
  clock: Clock;
  store: CommandStore;
  operators: OperatorStore;
  agents: AgentRegistry;
  keys: ApiKeys;
  enrollmentTokens: EnrollmentTokens;
  metrics: Metrics;
  health: () => Health;
  /** On a cluster: where agents not connected here are connected (see `ClusterFeed.whereConnected`). */
  connectedElsewhere?: AgentListDeps['connectedElsewhere'];
  /** Adds where this node's live actors stand (the console's live machines). */
  tallyLiveStates: (tally: LiveStateTally) => void;
  /** On a cluster: this node's secret, which other nodes present when they tell it of commands (see `registerClusterRoutes`). */
  peerSecret?: string;
}

export const DOCS_PREFIX = '/api/v1/docs';

/**
 * The operators' API, on a listener of its own (`--management-host`, `--management-port`) so that
 * it need not be exposed to the agents' network. Every route needs an API key whose role allows it;
 * keys may be scoped to targets and actions. Its OpenAPI document is at `/api/v1/openapi.json`,
 * browsable at `/api/v1/docs`.
 */
export async function createManagementApi(deps: ManagementApiDeps) {
  const app = await createHttpApp({
    logger: deps.logger,
    bodyLimit: deps.bodyLimit,
    requestTimeoutMs: deps.requestTimeoutMs,
    tls: deps.tls,
    openapi: {
      title: 'courier management API',
      description:
        'For operators: send and cancel commands, follow fan-outs, read and stream the audit trail, manage agents and their enrollment tokens, and operator keys. ' +
        'Every route needs `Authorization: Bearer <API key>` (keys: `courier keys create --role admin|operator|auditor [--scope …]`).',
      keyed: true,
    },
  });
  const unauthenticated = new UnauthenticatedConnections({
    api: 'management',
    maxPerAddress: deps.maxUnauthenticatedPerAddress,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  unauthenticated.attach(app.server);
  const guard = new AuthenticationGuard({
    api: 'management',
    failuresPerMinute: deps.authFailuresPerMinute,
    failure: errors.INVALID_API_KEY,
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now,
  });
  const access = new Access({
    keys: deps.keys,
    guard,
    store: deps.operators,
    node: deps.node,
    now: deps.now,
    logger: deps.logger,
    publicPrefixes: [DOCS_PREFIX],
    authenticated: unauthenticated.authenticated,
  });
  app.addHook('onRequest', access.check);
  // Before the store closes (courier closes it after this listener): held-back refusals are summarized.
  app.addHook('onClose', async () => {
    guard.close();
    await access.close();
    await deps.keys.settled();
  });
  countRefusals(app, deps.metrics, 'management');
  logAuthenticationFailures(app, new AuthenticationFailures({ api: 'management', logger: deps.logger, now: deps.now }));
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });
  const policy = scopedCommandPolicy(access, deps.store);

  registerOperationalRoutes(app, deps.health, deps.metrics.registry);
  registerCommandRoutes(app, deps.supervisor, policy);
  registerJobRoutes(app, deps.jobs, deps.clock, scopedJobPolicy(access, deps.store));
  const scopeOf = (request: FastifyRequest) => access.principal(request).scope;
  registerQueryRoutes(app, deps.operators, scopeOf);
  // A stream ends as soon as its key is revoked, not at its next request (it makes none).
  registerEventStream(app, deps.supervisor, deps.operators, scopeOf, { keyOf: (request) => access.principal(request).keyId, keys: deps.keys });
  registerManagementAgentRoutes(app, { ...deps, access, policy });
  registerEnrollmentTokenRoutes(app, deps.enrollmentTokens, { policy: scopedTokenPolicy(access) });
  registerKeyRoutes(app, deps.keys, { policy: scopedKeyPolicy(access, deps.keys) });
  registerConsoleRoutes(app, { principalOf: (request) => access.principal(request), tallyLiveStates: deps.tallyLiveStates, node: deps.node });
  if (deps.peerSecret !== undefined) {
    registerClusterRoutes(app, {
      supervisor: deps.supervisor,
      store: deps.store,
      refuse: (request, error) => access.refuse(request, error),
      secret: deps.peerSecret,
      authenticated: unauthenticated.authenticated,
    });
  }
  return app;
}
