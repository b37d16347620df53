import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { Metrics } from '../metrics.js';
import { errors } from '../errors.js';
import { registerAgentRoutes, type AgentRoutesDeps } from './agent-routes.js';
import { AgentWebSocket, WEBSOCKET_PATH } from './agent-websocket.js';
import { createHttpApp } from './app.js';
import { registerOperationalRoutes, type Health } from './operational-routes.js';
import { errorResponses } from './schemas.js';

export interface AgentsApiDeps extends AgentRoutesDeps {
  logger: Logger;
  bodyLimit: number;
  wsPingIntervalMs: number;
  metrics: Metrics;
  health: () => Health;
}

/** The agents' API (Wazuh Communications API compatible) and its WebSocket. */
export async function createAgentsApi(deps: AgentsApiDeps) {
  const app = await createHttpApp({
    logger: deps.logger,
    bodyLimit: deps.bodyLimit,
    openapi: {
      title: 'courier agents API',
      description:
        'Wazuh Communications API compatible: authentication, commands by long-poll or WebSocket (see docs/agents-api.md for the frames), results.',
    },
  });
  registerAgentRoutes(app, deps);
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
  const webSocket = new AgentWebSocket({ ...deps, maxPayload: deps.bodyLimit, pingIntervalMs: deps.wsPingIntervalMs });
  webSocket.attach(app.server);
  return { app, webSocket };
}
