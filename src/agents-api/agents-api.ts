import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { RefusalCounters } from '../metrics.js';
import { errors } from '../errors.js';
import { registerAgentRoutes, type AgentRoutesDeps } from './agent-routes.js';
import { registerEnrollRoute } from './enroll-route.js';
import type { Enrollment } from './agent-enrollment.js';
import { AgentWebSocket, WEBSOCKET_PATH } from './agent-websocket.js';
import { createHttpApp } from '../http/app.js';
import type { TlsServerOptions } from '../tls/server-tls.js';
import { AuthenticationFailures, logAuthenticationFailures } from '../http/authentication-failures.js';
import { countRefusals, isRefusal } from '../http/refusal-metrics.js';
import { registerOperationalRoutes, type Health, type MetricsSource } from '../http/operational-routes.js';
import { errorResponses } from '../http/schemas.js';
import { UnauthenticatedConnections } from '../http/unauthenticated-connections.js';
import type { WebSocketLimits } from './websocket-flow.js';
import { LongPollPresence } from './long-poll-presence.js';

export interface AgentsApiDeps extends Omit<AgentRoutesDeps, 'authenticated' | 'presence'> {
  logger: Logger;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** HTTPS options; absent: plain HTTP (`--insecure-http`). */
  tls?: TlsServerOptions | undefined;
  maxUnauthenticatedPerAddress: number;
  /** A connection worker's: tells courier's process, which counts them, that a connection stopped counting. */
  unauthenticatedReleased?: (address: string) => void;
  wsPingIntervalMs: number;
  webSocketLimits: WebSocketLimits;
  /** Where refusals are counted. */
  counters: RefusalCounters;
  /** What `/metrics` serves: the node's metrics. */
  metrics: MetricsSource;
  health: () => Health | Promise<Health>;
  enrollment: Enrollment;
  node: string;
  now: () => number;
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
    metrics: deps.counters,
    ...(deps.unauthenticatedReleased ? { onReleased: deps.unauthenticatedReleased } : {}),
  });
  unauthenticated.attach(app.server);
  countRefusals(app, deps.counters, 'agents');
  const failures = new AuthenticationFailures({ api: 'agents', logger: deps.logger, now: deps.now });
  logAuthenticationFailures(app, failures);
  const presence = new LongPollPresence({ node: deps.node, logger: deps.logger, now: deps.now });
  app.addHook('onClose', async () => presence.close());
  registerAgentRoutes(app, { ...deps, authenticated: unauthenticated.authenticated, presence });
  registerEnrollRoute(app, { enrollment: deps.enrollment, authenticated: unauthenticated.authenticated });
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
      if (isRefusal(error)) deps.counters.countRefusal('agents', error.code);
      failures.record(error, request.socket.remoteAddress ?? '', `GET ${WEBSOCKET_PATH}`);
    },
  });
  webSocket.attach(app.server);
  /** The first step of a shutdown: no new connection, request or upgrade; open long-polls and sockets stay for the drain to answer. */
  const stopAccepting = (): void => {
    accepting = false;
    webSocket.stopAccepting();
    if (app.server.listening) app.server.close();
  };
  return { app, webSocket, stopAccepting };
}
