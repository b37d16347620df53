import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createSecureContext } from 'node:tls';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Level, Logger } from 'pino';
import type { UnauthenticatedConnections } from '../http/unauthenticated-connections.js';
import type { TlsServerOptions } from '../tls/server-tls.js';
import { errors } from '../errors.js';
import { CONNECTION_MESSAGE, type WorkerInit } from './worker-init.js';
import { IpcChannel } from './ipc-channel.js';
import { WorkerConnections, type WorkerServices } from './worker-connections.js';

export interface ConnectionWorkersOptions {
  count: number;
  /** What each worker is started with (its index is set here). */
  init: Omit<WorkerInit, 'index' | 'logLevel'>;
  services: WorkerServices;
  logger: Logger;
  /** The cap on unauthenticated connections per address, for the whole node: applied as each connection is accepted. */
  unauthenticated: UnauthenticatedConnections;
  /** How long a worker may take to close its connections on shutdown before it is killed (ms). */
  closeTimeoutMs?: number;
}

/** One running worker and the primary's side of its connections. */
interface Worker {
  index: number;
  child: ChildProcess;
  channel: IpcChannel;
  connections: WorkerConnections;
  /** Connections passed to it that still count as unauthenticated, per address. */
  unauthenticated: Map<string, number>;
}

const WORKER_MODULE = fileURLToPath(new URL('./connection-worker.js', import.meta.url));
/** A worker that died is started again, but not more often than this (ms). */
const RESTART_DELAY_MS = 1000;
/** How long a worker may take to answer a shutdown's steps before it is killed (ms). */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * `--workers N`: N processes serve the agents' connections. This process listens, accepts each
 * connection without reading from it and hands its socket to the next worker in turn, which
 * terminates TLS and runs the agents API; the supervisor and the store stay here, single-writer.
 * A worker that dies is started again; its connections' commands go back to pending (the agents
 * reconnect, as after any lost connection).
 */
export class ConnectionWorkers {
  private readonly workers: (Worker | undefined)[] = [];
  private readonly server: Server;
  private next = 0;
  /** From the first step of a shutdown on: a worker that exits is not started again. */
  private stopping = false;
  /** Restarts under way (see `restart`), waited for by `close`. */
  private readonly restarts = new Set<Promise<void>>();

  private constructor(private readonly options: ConnectionWorkersOptions) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.hand(socket));
  }

  static async start(options: ConnectionWorkersOptions): Promise<ConnectionWorkers> {
    const workers = new ConnectionWorkers(options);
    try {
      for (let i = 0; i < options.count; i++) workers.workers.push(await workers.startWorker(i));
    } catch (error) {
      await workers.close();
      throw error;
    }
    return workers;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  /** The first step of a shutdown: no new connection; once it resolves, the workers refuse every new request and upgrade. */
  async stopAccepting(): Promise<void> {
    this.stopping = true;
    if (this.server.listening) this.server.close();
    // Bounded: a wedged worker must not hold the shutdown (it is killed by `close`).
    const told = Promise.allSettled(this.running().map((worker) => worker.channel.call('stop-accepting')));
    await Promise.race([told, new Promise((resolve) => setTimeout(resolve, this.options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS).unref())]);
  }

  /** New TLS options (a reloaded certificate) for new connections. */
  setSecureContext(options: TlsServerOptions): void {
    // Refused here, as a TLS server refuses it (a key that does not fit the certificate): the caller keeps the previous one.
    createSecureContext(options);
    for (const worker of this.workers) worker?.channel.post('tls', options);
  }

  /** Every worker reads the key set file again; rejects if one could not (it keeps its keys: the operator is told). */
  async reloadTokenKeys(): Promise<void> {
    const outcomes = await Promise.allSettled(this.running().map((worker) => worker.channel.call('reload-token-keys')));
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed.length > 0) throw errors.CONFIG.causedBy(failed[0]!.reason, `${failed.length} connection worker(s) could not read the agent token keys again`);
  }

  /** Ends every worker (their open connections with them). */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.server.listening) this.server.close();
    // A restart under way ends with its worker stopped (see `restart`).
    await Promise.all([...this.restarts]);
    await Promise.all(this.running().map((worker) => this.stopWorker(worker)));
  }

  private running(): Worker[] {
    return this.workers.filter((worker): worker is Worker => worker !== undefined);
  }

  private hand(socket: Socket): void {
    const address = socket.remoteAddress;
    if (!this.options.unauthenticated.admit(socket) || address === undefined) return;
    for (let tried = 0; tried < this.workers.length; tried++) {
      const worker = this.workers[this.next];
      this.next = (this.next + 1) % this.workers.length;
      if (worker?.child.connected) {
        worker.unauthenticated.set(address, (worker.unauthenticated.get(address) ?? 0) + 1);
        // With its address: a socket already reset cannot tell the worker, which must still release it.
        worker.child.send({ [CONNECTION_MESSAGE]: address }, socket);
        return;
      }
    }
    this.options.unauthenticated.releaseAddress(address);
    // No worker running (all restarting): the agent reconnects, as after any lost connection.
    socket.destroy();
  }

  private async startWorker(index: number): Promise<Worker> {
    const { logger } = this.options;
    const child = fork(WORKER_MODULE, [], {
      // JSON, not 'advanced' (structured clone): everything crossing is JSON anyway (commands, results,
      // PEM strings), and it measured cheaper for both sides (courier's process 138/142 µs per command
      // against 142–155, the workers 61/63 against 66–73).
      serialization: 'json',
      // The young generation's size and the like: what this process was started with.
      execArgv: process.execArgv.filter((arg) => arg.startsWith('--max-')),
    });
    // A send to a worker that just died fails here, not as an uncaught error of this process.
    child.on('error', (err) => logger.warn({ err, worker: index }, 'connection worker channel error'));
    const channel = new IpcChannel(child, logger);
    const connections = new WorkerConnections(channel, this.options.services);
    channel.on('log', (line: string) => relog(logger, line));
    const worker: Worker = { index, child, channel, connections, unauthenticated: new Map() };
    channel.on('released', (address: string) => {
      const open = worker.unauthenticated.get(address) ?? 0;
      if (open === 0) return;
      if (open > 1) worker.unauthenticated.set(address, open - 1);
      else worker.unauthenticated.delete(address);
      this.options.unauthenticated.releaseAddress(address);
    });
    const ready = new Promise<void>((resolve, reject) => {
      channel.on('ready', () => resolve());
      child.once('exit', (code) => reject(new Error(`connection worker ${index} exited with ${code} while starting`)));
    });
    child.send({ init: { ...this.options.init, index, logLevel: logger.level } });
    await ready;
    child.once('exit', (code, signal) => {
      channel.fail(new Error('the connection worker exited'));
      connections.endAll();
      // Its connections are gone with it.
      for (const [address, open] of worker.unauthenticated) for (let i = 0; i < open; i++) this.options.unauthenticated.releaseAddress(address);
      worker.unauthenticated.clear();
      if (this.stopping) return;
      logger.error({ worker: index, code, signal }, 'a connection worker exited; its agents reconnect; starting it again');
      this.workers[index] = undefined;
      this.restart(index, RESTART_DELAY_MS);
    });
    logger.info({ worker: index, pid: child.pid }, 'connection worker started');
    return worker;
  }

  /** Starts the worker at `index` again after `delayMs`; a failed start is tried again, twice as late (at most a minute). */
  private restart(index: number, delayMs: number): void {
    const restarted = new Promise<void>((resolve) => setTimeout(resolve, delayMs).unref())
      .then(async () => {
        if (this.stopping) return;
        const worker = await this.startWorker(index);
        if (this.stopping) await this.stopWorker(worker);
        else this.workers[index] = worker;
      })
      .catch((err: unknown) => {
        this.options.logger.error({ err, worker: index }, 'a connection worker could not be started again; trying later');
        if (!this.stopping) this.restart(index, Math.min(delayMs * 2, 60_000));
      })
      .finally(() => this.restarts.delete(restarted));
    this.restarts.add(restarted);
  }

  private async stopWorker(worker: Worker): Promise<void> {
    const { child, channel } = worker;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    channel.post('close');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** A worker's log line (pino's JSON), logged again by the primary's logger: its own time, pid and host. */
function relog(logger: Logger, line: string): void {
  const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line) as { level: number; msg?: string; [field: string]: unknown };
  const label = logger.levels.labels[level] as Level | undefined;
  if (label) logger[label](fields, msg);
}
