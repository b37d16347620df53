import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { AgentTokens } from './auth/agent-tokens.js';
import type { Config } from './config.js';
import { serverRoute } from './domain/command.js';
import { registerAgentAdminRoutes } from './http/agent-admin-routes.js';
import { registerAgentRoutes } from './http/agent-routes.js';
import { AgentWebSocket, WEBSOCKET_PATH } from './http/agent-websocket.js';
import { createHttpApp, type HttpApp } from './http/app.js';
import { registerCommandRoutes } from './http/command-routes.js';
import { holdLongPoll } from './http/long-poll.js';
import { ComponentPollQuery, ResultsBody } from './http/schemas.js';
import { listenOnSocket } from './http/unix-socket.js';
import { errors } from './errors.js';
import { Metrics } from './metrics.js';
import { AgentRegistry } from './runtime/agent-registry.js';
import { systemClock, type Clock } from './runtime/clock.js';
import { Supervisor } from './runtime/supervisor.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { CommandStore } from './store/store.js';

export interface CourierDeps {
  logger?: Logger;
  clock?: Clock;
  /** Defaults to the embedded SQLite store in the data directory. */
  store?: CommandStore;
}

export interface RunningCourier {
  readonly config: Config;
  readonly supervisor: Supervisor;
  /** Base URL of the agents API, e.g. http://127.0.0.1:27000 */
  readonly url: string;
  readonly socket: string;
  stop(): Promise<void>;
}

/**
 * Builds and starts a courier node: the store, the supervisor (which recovers unfinished
 * commands before anything listens), the admin Unix socket and the agents API.
 */
export async function startCourier(config: Config, deps: CourierDeps = {}): Promise<RunningCourier> {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const clock = deps.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o750 });

  const store = deps.store ?? new SqliteStore({ file: join(config.dataDir, 'courier.db'), synchronous: config.sync });
  await store.open();
  let metrics: Metrics | undefined;
  const supervisor = new Supervisor({
    store,
    clock,
    logger,
    node: config.node,
    executionTimeoutMs: config.executionTimeout,
    maxCommandsPerDelivery: config.maxCommandsPerDelivery,
    maxWriteBatch: 5000,
    claimLeaseMs: 60_000,
    onDelivered: (ms) => metrics?.observeDispatch(ms),
  });
  metrics = new Metrics({ countByStatus: () => store.countByStatus(), stats: () => supervisor.stats() });
  const agents = new AgentRegistry(store, () => clock.now());
  const tokens = await AgentTokens.load(config.dataDir, () => clock.now());
  await supervisor.start();

  const operational = (app: HttpApp) => {
    app.get('/healthz', async (_request, reply) => {
      const state = supervisor.state;
      return reply.code(state === 'running' ? 200 : 503).send({ status: state === 'running' ? 'ok' : 'unavailable', state, store: store.kind, node: config.node });
    });
    app.get('/metrics', async (_request, reply) => reply.type(metrics!.registry.contentType).send(await metrics!.registry.metrics()));
  };

  // Admin plane: the local Unix socket (0660).
  const admin = createHttpApp({ logger, bodyLimit: config.bodyLimit });
  registerCommandRoutes(admin, supervisor);
  registerAgentAdminRoutes(admin, agents);
  operational(admin);
  admin.get('/api/v1/commands', { schema: { querystring: ComponentPollQuery } }, async (request, reply) =>
    holdLongPoll(supervisor, reply, serverRoute(request.query.target_id), `component:${request.query.target_id}`, config.longPollTimeout),
  );
  admin.post('/api/v1/commands/results', { schema: { body: ResultsBody } }, async (request) => ({
    results: await supervisor.reportResults(request.body.results, null, 'admin-socket'),
  }));

  // Agents API (TCP): long-poll, results, WebSocket.
  const comms = createHttpApp({ logger, bodyLimit: config.bodyLimit });
  const agentDeps = { supervisor, agents, tokens, longPollTimeoutMs: config.longPollTimeout };
  registerAgentRoutes(comms, agentDeps);
  operational(comms);
  comms.get(WEBSOCKET_PATH, async () => {
    throw errors.UPGRADE_REQUIRED();
  });
  const webSocket = new AgentWebSocket({ ...agentDeps, logger, maxPayload: config.bodyLimit, pingIntervalMs: config.wsPingInterval });
  webSocket.attach(comms.server);

  try {
    await admin.ready();
    await listenOnSocket(config.socket, () => admin.listen({ path: config.socket }));
    await comms.listen({ host: config.host, port: config.port });
  } catch (error) {
    await Promise.allSettled([admin.close(), comms.close()]);
    await supervisor.stop();
    await store.close();
    throw error;
  }
  const address = comms.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  logger.info({ url, socket: config.socket, store: store.kind }, 'courier is running');

  let stopping: Promise<void> | undefined;
  return {
    config,
    supervisor,
    url,
    socket: config.socket,
    stop: () =>
      (stopping ??= (async () => {
        await supervisor.stop();
        webSocket.close();
        await Promise.allSettled([admin.close(), comms.close()]);
        await store.close();
        logger.info('courier stopped');
      })()),
  };
}
