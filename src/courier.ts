import type { AddressInfo } from 'node:net';
import type { AnyActorRef } from 'xstate';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AgentTokens } from './auth/agent-tokens.js';
import { ClusterFeed } from './cluster/cluster-feed.js';
import type { Config } from './config.js';
import { listenOnSocket } from './http/unix-socket.js';
import { createAdminApi } from './admin-api/admin-api.js';
import type { ComponentPlugin } from './admin-api/component-routes.js';
import { createAgentsApi } from './agents-api/agents-api.js';
import { AgentEnrollment } from './agents-api/agent-enrollment.js';
import { EnrollmentRefusals } from './agents-api/enrollment-refusals.js';
import { startRegistrationSweep } from './agents-api/registration-sweep.js';
import { agentRoute } from './domain/command.js';
import { localSupervisorPort } from './runtime/supervisor-port.js';
import { errors } from './errors.js';
import { createLogger } from './logger.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { prepareDataDir } from './data-dir.js';
import { Metrics } from './metrics.js';
import { readiness } from './http/readiness.js';
import { AgentRegistry } from './auth/agent-registry.js';
import { systemClock, type Clock } from './runtime/clock.js';
import { Supervisor } from './runtime/supervisor.js';
import { Jobs } from './jobs/jobs.js';
import { CONSOLE_PATH } from './console/console-page.js';
import { createInspector, type Inspector } from './inspect/inspector.js';
import { ApiKeys } from './auth/api-keys.js';
import { EnrollmentTokens } from './auth/enrollment-tokens.js';
import { createManagementApi } from './management/management-api.js';
import { IndexerPoller } from './poller/indexer-poller.js';
import { isIndexerSource } from './poller/indexer-source.js';
import { createStore } from './store/create-store.js';
import type { CommandStore } from './store/store.js';
import type { OperatorStore } from './store/operator-store.js';
import type { Server as TlsServer } from 'node:tls';
import { ServerTls, type TlsServerOptions } from './tls/server-tls.js';
import { ConnectionWorkers } from './workers/connection-workers.js';
import { AuthenticationGuard } from './http/authentication-guard.js';
import { UnauthenticatedConnections } from './http/unauthenticated-connections.js';

export type { ComponentPlugin } from './admin-api/component-routes.js';

export interface CourierDeps {
  logger?: Logger;
  clock?: Clock;
  /** Defaults to the embedded SQLite store in the data directory. */
  store?: CommandStore;
  /** Lifetime of agent tokens, for tests of what happens at expiry; Wazuh agents expect the default, 900 s. */
  tokenLifetimeS?: number;
  /** How often jobs are driven (ms; default 1000): tests with a simulated clock drive them themselves. */
  jobTickMs?: number;
}

export interface RunningCourier {
  readonly config: Config;
  readonly supervisor: Supervisor;
  readonly jobs: Jobs;
  /** The operators' queries of the store (lists, the audit trail). */
  readonly operators: OperatorStore;
  /** Base URL of the agents API, e.g. https://127.0.0.1:27000 */
  readonly url: string;
  /** Base URL of the management API, e.g. https://127.0.0.1:55000 */
  readonly managementUrl: string;
  readonly socket: string;
  /** The OpenAPI documents of the three listeners. */
  openapi(): { management: unknown; agents: unknown; admin: unknown };
  /** How clients verify the listeners (absent with `--insecure-http`): the CA's fingerprint, and its file when courier made it. */
  readonly tls?: { readonly caFingerprint: string; readonly caFile?: string };
  /** Reads the TLS certificate files again (SIGHUP); open connections keep theirs. */
  reloadTls(): Promise<void>;
  /** Reads the `--token-keys` file again (SIGHUP): its first key signs from now on. */
  reloadTokenKeys(): Promise<void>;
  /** Routes components add to the admin socket, each set under a prefix of its own (none may shadow courier's). */
  readonly adminRoutes: {
    register(plugin: ComponentPlugin, prefix: string, decorations: Record<string, unknown>): Promise<void>;
    readonly prefixes: string[];
  };
  /** With `inspect` on: the Stately inspector relay (127.0.0.1 only); `url` carries its token. */
  readonly inspector?: { readonly url: string; readonly webSocketUrl: string; readonly port: number; readonly token: string };
  stop(): Promise<void>;
}

/**
 * Builds and starts a courier node: the store, the supervisor (which recovers unfinished
 * commands before anything listens), the admin Unix socket and the agents API.
 */
export async function startCourier(config: Config, deps: CourierDeps = {}): Promise<RunningCourier> {
  const logger = deps.logger ?? createLogger(config);
  const clock = deps.clock ?? systemClock;
  prepareDataDir(config.dataDir);
  // Claimed before the store is opened: a second courier on this directory must not recover it.
  const lock = lockDataDir(config.dataDir);
  // What has been started so far, undone in reverse order if a later step fails.
  const undo: (() => unknown)[] = [() => lock.release()];
  try {
    return await assemble(config, deps, logger, clock, lock, undo);
  } catch (error) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (err) {
        logger.error({ err }, 'cleanup after a failed start failed');
      }
    }
    throw error;
  }
}

/** Builds and starts every part, registering in `undo` how to take each down again. */
async function assemble(config: Config, deps: CourierDeps, logger: Logger, clock: Clock, lock: DataDirLock, undo: (() => unknown)[]): Promise<RunningCourier> {
  const store = deps.store ?? createStore(config, logger);
  await store.open();
  undo.push(() => store.close());
  let metrics: Metrics | undefined;
  // On a cluster: the other nodes are told at once of commands for agents connected here, and this one tells them.
  const feed = store.cluster
    ? new ClusterFeed({
        directory: store.cluster,
        node: config.node,
        serves: (route) => supervisor.serves(route),
        logger,
        now: () => clock.now(),
      })
    : undefined;
  await feed?.start();
  // Off by default; when off, no observer is attached to any actor and no port is opened.
  /** The console's address, once the management API listens (the inspector's page points to it). */
  let consoleUrl: string | null = null;
  const inspector: Inspector | undefined = config.inspect
    ? createInspector({ port: config.inspectPort, logger, liveActors: () => liveActors(supervisor, jobs), consoleUrl: () => consoleUrl })
    : undefined;
  const supervisor: Supervisor = new Supervisor({
    store,
    clock,
    logger,
    node: config.node,
    executionTimeoutMs: config.executionTimeout,
    maxCommandsPerDelivery: config.maxCommandsPerDelivery,
    maxWriteBatch: 5000,
    // The embedded store commits in microseconds; a cluster's request costs it ~0.5 ms of CPU whatever it holds.
    commitIntervalMs: store.kind === 'opensearch' ? config.opensearchCommitInterval : 0,
    maxCommandsPerRequest: config.maxCommandsPerRequest,
    claimLeaseMs: config.claimLease,
    onDelivered: (ms) => metrics?.observeDispatch(ms),
    ...(inspector ? { inspect: inspector.observer } : {}),
    // A cluster the poller cannot read (or that hangs) is not sent creates to wait on.
    storeProblem: () => poller?.clusterProblem() ?? null,
    // On a cluster a node holds only the commands of the agents connected to it; an agent between
    // two long-polls, or reconnecting, still counts as connected here for this long.
    ...(isIndexerSource(store) ? { affinityGraceMs: 30_000 } : {}),
    ...(feed ? { onRouteServed: feed.routeServed, onCreated: feed.created } : {}),
  });
  metrics = new Metrics({ countByStatus: () => store.countByStatus(), stats: () => supervisor.stats(), jobs: () => jobs.stats() });
  const agents = new AgentRegistry(store, () => clock.now());
  const tokens = await AgentTokens.load(config.tokenKeys === undefined ? { dataDir: config.dataDir } : { keySetFile: config.tokenKeys }, () => clock.now(), deps.tokenLifetimeS);
  if (store.kind === 'opensearch' && config.tokenKeys === undefined) {
    logger.warn("agent tokens are signed with this node's own key: an agent that reaches another node must authenticate again; give every node the same --token-keys");
  }
  // A cluster shared with other writers is tailed for their changes (the embedded store has none).
  const poller = isIndexerSource(store)
    ? new IndexerPoller({
        source: store,
        observe: (states) => supervisor.observe(states),
        routes: (): string[] | null => supervisor.servedRoutes(),
        node: config.node,
        logger,
        pollIntervalMs: config.pollInterval,
        rescanIntervalMs: config.rescanInterval,
        pageSize: config.pollPageSize,
      })
    : undefined;
  // The cursor is read (or set) before recovery loads the unfinished commands, so that nothing
  // written in between is missed; polling starts once the supervisor runs.
  await poller?.prepare();
  undo.push(() => supervisor.stop());
  await supervisor.start();
  poller?.start();
  undo.push(() => poller?.stop());
  const jobs = new Jobs({
    store,
    submit: (specs, who, options) => supervisor.submit(specs, who, options),
    cancel: (documentId, who) => supervisor.cancel(documentId, who),
    clock,
    node: config.node,
    logger,
    maxTargets: config.maxCommandsPerRequest,
    tickMs: deps.jobTickMs ?? 1000,
    // A job is driven by one node at a time, held for as long as a claim (and renewed while driven).
    leaseMs: store.cluster ? config.claimLease : null,
    ...(inspector ? { inspect: inspector.observer } : {}),
    onTransition: () => supervisor.auditWritten(),
  });
  await jobs.start();
  undo.push(() => jobs.stop());

  const operators = store.operators;
  if (!operators) throw errors.CONFIG(`the ${store.kind} store has no operator queries: the management API cannot run on it`);
  const keys = new ApiKeys(operators, { now: () => clock.now(), node: config.node, logger, onAudited: () => supervisor.auditWritten() });
  if (!store.enrollmentTokens) throw errors.CONFIG(`the ${store.kind} store has no enrollment tokens: agents cannot enroll on it`);
  const enrollmentTokens = new EnrollmentTokens(store.enrollmentTokens, () => clock.now());
  const health = readiness({ supervisor, poller, store: store.kind, node: config.node });
  const common = {
    logger,
    bodyLimit: config.bodyLimit,
    requestTimeoutMs: config.requestTimeout,
    supervisor,
    jobs,
    clock,
    agents,
    enrollmentTokens,
    metrics,
    health,
    node: config.node,
    ...(feed ? { connectedElsewhere: (routes: string[]) => feed.whereConnected(routes) } : {}),
  };
  // Both TCP listeners serve TLS unless plain HTTP is asked for; the Unix socket is local and permissioned.
  const tls = await serverTls(config, logger);
  undo.push(() => tls?.close());

  // Admin plane: the local Unix socket (0660).
  const { app: admin, components } = await createAdminApi({ ...common, keys, operators, longPollTimeoutMs: config.longPollTimeout });
  undo.push(
    () => admin.close(),
    () => components.close(),
  );
  // Agents API (TCP): long-poll, results, WebSocket.
  const enrollmentRefusals = new EnrollmentRefusals({ store: operators, node: config.node, now: () => clock.now(), logger });
  // After the listeners, before the store: held-back refusals are written as their summaries.
  undo.push(() => enrollmentRefusals.close());
  const enrollment = new AgentEnrollment({ enrollmentTokens, enrollmentRefusals, clientCertificates: tls?.clientCertificates(), logger });
  // Here, beside the registrations, whichever process serves the connection: the counts hold for the whole node.
  const guard = new AuthenticationGuard({
    api: 'agents',
    failuresPerMinute: config.authFailuresPerMinute,
    failure: errors.INVALID_KEY,
    logger,
    metrics,
    now: () => clock.now(),
  });
  undo.push(() => guard.close());
  const authenticate = (address: string, agentId: string, key: string) => guard.attempt(address, agentId, () => agents.authenticate(agentId, key));
  const {
    app: comms,
    webSocket,
    stopAccepting: stopAgentRequests,
  } = await createAgentsApi({
    logger,
    bodyLimit: config.bodyLimit,
    requestTimeoutMs: config.requestTimeout,
    supervisor: localSupervisorPort(supervisor),
    agents,
    authenticate,
    tokens,
    enrollment,
    counters: metrics,
    metrics: metrics.registry,
    health,
    node: config.node,
    now: () => clock.now(),
    maxUnauthenticatedPerAddress: config.maxUnauthenticatedPerAddress,
    longPollTimeoutMs: config.longPollTimeout,
    wsPingIntervalMs: config.wsPingInterval,
    webSocketLimits: { maxInFlight: config.wsMaxInFlight, maxBufferedBytes: config.wsMaxBufferedBytes, stallTimeoutMs: config.wsStallTimeout },
    tls: tls?.serverOptions(true),
    mutualTls: tls?.mutual ?? false,
  });
  undo.push(
    () => comms.close(),
    () => webSocket.close(),
  );
  // With --workers N (N > 1), processes of their own serve the agents' connections with the same API;
  // this process's agents API is then only built for its OpenAPI document.
  const workers =
    config.workers > 1
      ? await ConnectionWorkers.start({
          count: config.workers,
          init: {
            config,
            tls: tls?.serverOptions(true),
            mutualTls: tls?.mutual ?? false,
            tokenKeys: config.tokenKeys === undefined ? { dataDir: config.dataDir } : { keySetFile: config.tokenKeys },
            tokenLifetimeS: deps.tokenLifetimeS,
          },
          services: { supervisor: localSupervisorPort(supervisor), agents, authenticate, enrollment, health, metrics: metrics.registry, counters: metrics, logger },
          logger,
          unauthenticated: new UnauthenticatedConnections({ api: 'agents', maxPerAddress: config.maxUnauthenticatedPerAddress, logger, metrics }),
        })
      : undefined;
  if (workers) undo.push(() => workers.close());
  // An agent removed here loses its open long-polls and sockets at once, not only its next request.
  const stopWatchingRemovals = agents.onRemoved((agentId) => supervisor.revoke(agentRoute(agentId)));
  // On a shared store, removals made through other nodes are found by a sweep.
  const stopSweeping = store.kind === 'opensearch' ? startRegistrationSweep({ agents, supervisor, logger, intervalMs: config.pollInterval }) : () => {};
  undo.push(stopWatchingRemovals, stopSweeping);
  // Management API (TCP, API keys): operators anywhere.
  const management = await createManagementApi({
    ...common,
    maxUnauthenticatedPerAddress: config.maxUnauthenticatedPerAddress,
    authFailuresPerMinute: config.authFailuresPerMinute,
    node: config.node,
    now: () => clock.now(),
    store,
    operators,
    keys,
    tls: tls?.serverOptions(false),
    tallyLiveStates: (tally) => {
      supervisor.tallyLiveStates(tally);
      jobs.tallyLiveStates(tally);
      poller?.tallyLiveStates(tally);
    },
    ...(feed ? { peerSecret: feed.secret } : {}),
  });
  undo.push(() => management.close());
  if (tls) {
    tls.attach(workers ? { setSecureContext: (options) => workers.setSecureContext(options as TlsServerOptions) } : (comms.server as unknown as TlsServer), true);
    tls.attach(management.server as unknown as TlsServer, false);
    if (config.tlsCert) tls.watchFiles();
  }
  if (inspector) undo.push(() => inspector.close());

  await admin.ready();
  await listenOnSocket(config.socket, () => admin.listen({ path: config.socket }));
  const agentsAddress = workers
    ? await workers.listen(config.host, config.port)
    : await comms.listen({ host: config.host, port: config.port }).then(() => comms.server.address() as AddressInfo);
  await management.listen({ host: config.managementHost, port: config.managementPort });
  await inspector?.listen();

  const scheme = tls ? 'https' : 'http';
  const url = baseUrl(scheme, config.host, agentsAddress.port);
  const managementPort = (management.server.address() as AddressInfo).port;
  const managementUrl = baseUrl(scheme, config.managementHost, managementPort);
  consoleUrl = `${managementUrl}${CONSOLE_PATH}`;
  if (feed) {
    const advertised = config.advertiseUrl ?? advertisedUrl(scheme, config.managementHost, managementPort);
    if (config.advertiseUrl === undefined && isLoopback(config.managementHost)) {
      logger.warn(
        { advertised },
        'the other nodes of the cluster are told to reach this node at a loopback address: only nodes on this machine can tell it of commands for its agents at once (others leave them to its poll); set --advertise-url, or a --management-host they can reach',
      );
    }
    await feed.join({ url: advertised, caFingerprint: tls?.caFingerprint });
    undo.push(() => feed.leave());
  }
  const tlsInfo = tls ? { caFingerprint: tls.caFingerprint, ...(tls.caFile ? { caFile: tls.caFile } : {}) } : undefined;
  logger.info({ url, managementUrl, console: consoleUrl, socket: config.socket, store: store.kind, ...(tlsInfo ? { tls: tlsInfo } : {}) }, 'courier is running');

  let stopping: Promise<void> | undefined;
  return {
    config,
    supervisor,
    jobs,
    operators,
    url,
    managementUrl,
    socket: config.socket,
    openapi: () => ({ management: management.swagger(), agents: comms.swagger(), admin: admin.swagger() }),
    ...(tlsInfo ? { tls: tlsInfo } : {}),
    reloadTls: async () => tls?.reload(),
    reloadTokenKeys: async () => {
      try {
        await tokens.reload();
        await workers?.reloadTokenKeys();
        logger.info({ keys: tokens.keyIds }, 'agent token keys reloaded');
      } catch (err) {
        logger.error({ err }, 'agent token keys not reloaded: the file cannot be used; the keys stay as they were');
        throw err;
      }
    },
    adminRoutes: {
      register: (plugin, prefix, decorations) => components.register(plugin, prefix, decorations),
      get prefixes() {
        return components.prefixes;
      },
    },
    ...(inspector ? { inspector } : {}),
    stop: () =>
      (stopping ??= (async () => {
        // Bounded: a store that keeps failing would hold the drain (and the process) forever.
        const drained = await withinDeadline(config.shutdownTimeout, async () => {
          // The poller and the jobs first: nothing is handed to a supervisor that is draining.
          await poller?.stop();
          await jobs.stop();
          // Then the agents stop getting in: what they send from now on is refused (503) for them to retry
          // elsewhere or after the restart, rather than met by a supervisor that is draining.
          stopAgentRequests();
          await workers?.stopAccepting();
          await supervisor.stop();
        });
        let unwritten: ReturnType<typeof unwrittenAccount> | undefined;
        if (!drained) {
          unwritten = unwrittenAccount(supervisor.writeBacklog, supervisor.storeWriteProblem?.message ?? null);
          supervisor.abandonWrites(errors.SHUTTING_DOWN());
          stopAgentRequests();
          await workers?.stopAccepting();
          await supervisor.stop();
        }
        await feed?.leave();
        webSocket.close();
        tls?.close();
        await Promise.allSettled([admin.close(), comms.close(), workers?.close(), management.close(), inspector?.close()]);
        stopWatchingRemovals();
        stopSweeping();
        guard.close();
        await enrollmentRefusals.close();
        // The components' hooks last: the socket hands them no more requests.
        await components.close();
        try {
          await store.close();
        } finally {
          lock.release();
        }
        if (unwritten) {
          const error = errors.SHUTDOWN_TIMEOUT(config.shutdownTimeout, unwritten.message);
          logger.error({ ...unwritten.detail, code: error.code }, error.message);
          throw error;
        }
        logger.info('courier stopped');
      })()),
  };
}

/** Runs `work`; true if it ended within `ms`, false if the deadline came first (it is left running). */
async function withinDeadline(ms: number, work: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work().then(() => true as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a shutdown past its deadline could not write, said for the log and the exit. */
function unwrittenAccount(backlog: { creates: number; changes: number; commands: string[] }, problem: string | null) {
  const sample = backlog.commands.slice(0, 20);
  return {
    message:
      `${backlog.changes} status change(s) and ${backlog.creates} create(s) of ${backlog.commands.length} command(s) were not written` +
      ` (${problem ?? 'the store did not answer'}); each command is taken up from its stored state on restart`,
    detail: { unwritten: { creates: backlog.creates, changes: backlog.changes, commands: backlog.commands.length, sample } },
  };
}

/** A URL to reach a listener: a wildcard bind is reached on loopback. */
function baseUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** Where the other nodes of a cluster reach a listener: a wildcard bind by this machine's name (which courier's certificate holds). */
function advertisedUrl(scheme: 'http' | 'https', host: string, port: number): string {
  return host === '0.0.0.0' || host === '::' ? `${scheme}://${hostname()}:${port}` : baseUrl(scheme, host, port);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The listeners' TLS, or undefined (warned) when plain HTTP was asked for. */
async function serverTls(config: Config, logger: Logger): Promise<ServerTls | undefined> {
  if (config.insecureHttp) {
    logger.warn('--insecure-http: the agents API and the management API serve plain HTTP; agent keys, tokens and API keys cross the network in clear text');
    return undefined;
  }
  // A certificate made here names the addresses the listeners are bound to, when they are not wildcards.
  const bound = [config.host, config.managementHost].filter((h) => h !== '0.0.0.0' && h !== '::');
  return ServerTls.prepare(
    {
      dataDir: config.dataDir,
      certFile: config.tlsCert,
      keyFile: config.tlsKey,
      clientCaFile: config.tlsClientCa,
      clientCaKeyFile: config.tlsClientCaKey,
      hosts: [...bound, ...config.tlsHosts],
    },
    logger,
  );
}

/** Every live actor the inspector may show: the supervisor's (itself, subscriptions, commands), then the jobs. */
function* liveActors(supervisor: Supervisor, jobs: Jobs): Generator<AnyActorRef> {
  yield* supervisor.liveActors();
  yield* jobs.actors();
}
