import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { Metrics } from '../metrics.js';
import { agentRoute } from '../domain/command.js';
import { errors } from '../errors.js';
import { registerAgentRoutes, type AgentRoutesDeps } from './agent-routes.js';
import { registerEnrollRoute, type EnrollRouteDeps } from './enroll-route.js';
import { EnrollmentRefusals } from './enrollment-refusals.js';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import type { OperatorStore } from '../store/operator-store.js';
import { AgentWebSocket, WEBSOCKET_PATH } from './agent-websocket.js';
import { createHttpApp } from '../http/app.js';
import type { TlsServerOptions } from '../tls/server-tls.js';
import { AuthenticationGuard } from '../http/authentication-guard.js';
import { AuthenticationFailures, logAuthenticationFailures } from '../http/authentication-failures.js';
import { countRefusals, isRefusal } from '../http/refusal-metrics.js';
import { registerOperationalRoutes, type Health } from '../http/operational-routes.js';
import { errorResponses } from '../http/schemas.js';
import { UnauthenticatedConnections } from '../http/unauthenticated-connections.js';
import type { WebSocketLimits } from './websocket-flow.js';
import { startRegistrationSweep } from './registration-sweep.js';
import { LongPollPresence } from './long-poll-presence.js';

export interface AgentsApiDeps extends Omit<AgentRoutesDeps, 'guard' | 'authenticated' | 'presence'> {
  logger: Logger;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** HTTPS options; absent: plain HTTP (`--insecure-http`). */
  tls?: TlsServerOptions | undefined;
  /** Signs the certificate requests of enrolling agents (mutual TLS with the client CA's key). */
  clientCertificates?: EnrollRouteDeps['clientCertificates'];
  maxUnauthenticatedPerAddress: number;
  authFailuresPerMinute: number;
  wsPingIntervalMs: number;
  webSocketLimits: WebSocketLimits;
  metrics: Metrics;
  health: () => Health;
  enrollmentTokens: EnrollmentTokens;
  /** Where refused enrollments are recorded (the audit trail). */
  operators: OperatorStore;
  node: string;
  now: () => number;
  /** On a store shared by several nodes: how often the connected agents' registrations are checked (see `startRegistrationSweep`). */
  registrationSweepMs?: number | undefined;
}

/** The agents' API (Wazuh Communications API compatible) and its WebSocket. */
export async function createAgentsApi(deps: AgentsApiDeps) {
  const app = await createHttpApp({
    logger: deps.logger,
    bodyLimit: deps.bodyLimit,
    requestTimeoutMs: deps.requestTimeoutMs,
    tls: deps.tls,
    openapi: {
      title: 'courier agents API',
      description: 'Wazuh Communications API compatible: authentication, commands by long-poll or WebSocket (see docs/agents-api.md for the frames), results.',
    },
  });
  // From the start of a shutdown, requests on connections still open are refused (503, retry elsewhere/later).
  let accepting = true;
  app.addHook('onRequest', async () => {
    if (!accepting) throw errors.SHUTTING_DOWN();
  });
  const unauthenticated = new UnauthenticatedConnections({
    api: 'agents',
    maxPerAddress: deps.maxUnauthenticatedPerAddress,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  unauthenticated.attach(app.server);
  countRefusals(app, deps.metrics, 'agents');
  const guard = new AuthenticationGuard({
    api: 'agents',
    failuresPerMinute: deps.authFailuresPerMinute,
    failure: errors.INVALID_KEY,
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now,
  });
  app.addHook('onClose', async () => guard.close());
  const failures = new AuthenticationFailures({ api: 'agents', logger: deps.logger, now: deps.now });
  logAuthenticationFailures(app, failures);
  const presence = new LongPollPresence({ node: deps.node, logger: deps.logger, now: deps.now });
  app.addHook('onClose', async () => presence.close());
  registerAgentRoutes(app, { ...deps, guard, authenticated: unauthenticated.authenticated, presence });
  const enrollmentRefusals = new EnrollmentRefusals({ store: deps.operators, node: deps.node, now: deps.now, logger: deps.logger });
  // Before the store closes (courier closes it after this listener): held-back refusals are summarized.
  app.addHook('onClose', async () => enrollmentRefusals.close());
  registerEnrollRoute(app, {
    enrollmentTokens: deps.enrollmentTokens,
    enrollmentRefusals,
    authenticated: unauthenticated.authenticated,
    clientCertificates: deps.clientCertificates,
  });
  registerOperationalRoutes(app, deps.health, deps.metrics);
  app.get(
    WEBSOCKET_PATH,
    {
      schema: {
        tags: ['commands'],
        summary: 'WebSocket: send an Upgrade request with Authorization: Bearer <token> (a plain GET is answered 426)',
        security: [{ bearer: [] }],
        response: { 101: Type.Null({ description: 'Switching Protocols; the frames are described in docs/agents-api.md' }), ...errorResponses },
      },
    },
    async () => {
      throw errors.UPGRADE_REQUIRED();
    },
  );
  const webSocket = new AgentWebSocket({
    ...deps,
    maxPayload: deps.bodyLimit,
    pingIntervalMs: deps.wsPingIntervalMs,
    limits: deps.webSocketLimits,
    authenticated: unauthenticated.authenticated,
    onRefused: (error, request) => {
      if (isRefusal(error)) deps.metrics.countRefusal('agents', error.code);
      failures.record(error, request.socket.remoteAddress ?? '', `GET ${WEBSOCKET_PATH}`);
    },
  });
  webSocket.attach(app.server);
  // An agent removed here loses its open long-poll and sockets at once, not only its next request.
  const stopWatching = deps.agents.onRemoved((agentId) => deps.supervisor.revoke(agentRoute(agentId)));
  // On a shared store, removals made through other nodes are found by a sweep.
  const stopSweeping =
    deps.registrationSweepMs === undefined
      ? () => {}
      : startRegistrationSweep({ agents: deps.agents, supervisor: deps.supervisor, logger: deps.logger, intervalMs: deps.registrationSweepMs });
  app.addHook('onClose', async () => {
    stopWatching();
    stopSweeping();
  });
  /** The first step of a shutdown: no new connection, request or upgrade; open long-polls and sockets stay for the drain to answer. */
  const stopAccepting = (): void => {
    accepting = false;
    webSocket.stopAccepting();
    if (app.server.listening) app.server.close();
  };
  return { app, webSocket, stopAccepting };
}
