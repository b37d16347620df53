/**
 * A connection worker (`--workers`): a process of its own that serves agents' connections — TLS,
 * HTTP, WebSocket frames, JSON, token checks — with the same agents API as the primary, and hands
 * what they ask to the primary's supervisor over its IPC channel. The primary accepts each
 * connection and passes its socket here.
 */
import type { Socket } from 'node:net';
import type { Static } from 'typebox';
import type { EnrolledAgent } from '../agents-api/schemas.js';
import { createAgentsApi } from '../agents-api/agents-api.js';
import { AgentTokens } from '../auth/agent-tokens.js';
import type { Health } from '../http/operational-routes.js';
import pino, { type Logger } from 'pino';
import type { RefusalCounters } from '../metrics.js';
import type { SecureContextHolder, TlsServerOptions } from '../tls/server-tls.js';
import { IpcChannel } from './ipc-channel.js';
import { RemoteSupervisorPort } from './remote-supervisor-port.js';
import { CONNECTION_MESSAGE, type WorkerInit } from './worker-init.js';

/** Prometheus' text format, as prom-client names it. */
const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

async function start(init: WorkerInit): Promise<void> {
  const { config } = init;
  // Its lines go to the primary, which logs them with its own: one log, wherever it is written.
  const logger: Logger = pino({ level: init.logLevel }, { write: (line: string) => channel.post('log', line) }).child({ worker: init.index });
  const channel: IpcChannel = new IpcChannel(process as Required<typeof process>, logger);
  const supervisor = new RemoteSupervisorPort(channel);
  const tokens = await AgentTokens.load(init.tokenKeys, Date.now, init.tokenLifetimeS);
  const count =
    (counter: keyof RefusalCounters) =>
    (...args: unknown[]): void =>
      channel.post('count', counter, args);
  const { app, webSocket, stopAccepting } = await createAgentsApi({
    logger,
    bodyLimit: config.bodyLimit,
    requestTimeoutMs: config.requestTimeout,
    supervisor,
    agents: {
      registration: (agentId) => channel.call<string | null>('registration', agentId),
      touch: (agentId, registration) => channel.post('touch', agentId, registration),
    },
    authenticate: (address, agentId, key) => channel.call<string>('authenticate', address, agentId, key),
    tokens,
    enrollment: { enroll: (body, address) => channel.call<Static<typeof EnrolledAgent>>('enroll', body, address) },
    counters: { countRefusal: count('countRefusal'), countConnectionRefused: count('countConnectionRefused'), countAuthenticationThrottled: count('countAuthenticationThrottled') },
    metrics: { contentType: METRICS_CONTENT_TYPE, metrics: () => channel.call<string>('metrics') },
    health: () => channel.call<Health>('health'),
    node: config.node,
    now: Date.now,
    // Capped by courier's process, which accepts every connection (ConnectionWorkers); counted there.
    maxUnauthenticatedPerAddress: Number.POSITIVE_INFINITY,
    unauthenticatedReleased: (address) => channel.post('released', address),
    longPollTimeoutMs: config.longPollTimeout,
    wsPingIntervalMs: config.wsPingInterval,
    webSocketLimits: { maxInFlight: config.wsMaxInFlight, maxBufferedBytes: config.wsMaxBufferedBytes, stallTimeoutMs: config.wsStallTimeout },
    tls: init.tls,
    mutualTls: init.mutualTls,
  });
  await app.ready();
  // It never listens (its connections come from the primary), but Node's HTTP server tracks its
  // connections, and so enforces the request and headers timeouts, from its 'listening' event on.
  app.server.emit('listening');
  process.on('message', (message: unknown, socket?: Socket) => {
    const address = (message as Record<string, unknown> | null)?.[CONNECTION_MESSAGE];
    if (typeof address !== 'string' || !socket) return;
    // Reset before it got here: courier's process counted it under its address; nothing here would release it.
    if (socket.remoteAddress === undefined) {
      channel.post('released', address);
      socket.destroy();
      return;
    }
    app.server.emit('connection', socket);
  });
  channel.serve('stop-accepting', () => {
    supervisor.running = false;
    stopAccepting();
    return true;
  });
  channel.on('tls', (options: TlsServerOptions) => {
    try {
      (app.server as unknown as SecureContextHolder).setSecureContext(options);
    } catch (err) {
      logger.error({ err }, 'TLS certificate not reloaded in a connection worker; the previous one stays');
    }
  });
  channel.serve('reload-token-keys', () => tokens.reload());
  channel.on('close', () => {
    webSocket.close();
    void app.close().finally(() => channel.flush(() => process.exit(0)));
  });
  channel.post('ready');
}

// The primary gone (its channel closed): nothing here can reach a supervisor any more.
process.on('disconnect', () => process.exit(1));
// Courier's process drives the shutdown (its drain first, then this process): a Ctrl-C or a service
// manager's signal to the whole group must not end the connections before the drain.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
process.once('message', (message: unknown) => {
  const init = (message as { init?: WorkerInit }).init;
  if (init === undefined) throw new Error('a connection worker must be started by courier with its init message first');
  start(init).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
