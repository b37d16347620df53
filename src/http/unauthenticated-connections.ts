import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import type { RefusalCounters } from '../metrics.js';
import { closeWithError } from './raw-error.js';

// In the HTTP kernel: both TCP listeners (agents-api/, management/) cap them.

/** A refusal is logged at most once per this interval (ms); the metric counts every one. */
const LOG_INTERVAL_MS = 60_000;

export interface UnauthenticatedConnectionsOptions {
  api: 'agents' | 'management';
  maxPerAddress: number;
  logger: Logger;
  metrics: RefusalCounters;
}

/**
 * Caps, per source address, the connections of a listener that have not yet presented valid
 * credentials. A connection counts from its accept until one of its requests authenticates
 * (`authenticated`) or it closes. Past the cap a new connection is answered `429` at once, before
 * anything of it is read, and closed: the client is told why (a reset would look like a network
 * fault), and the answer costs one small write.
 */
export class UnauthenticatedConnections {
  /** Unauthenticated connections open, per address. */
  private readonly open = new Map<string, number>();
  /** The address each counted connection is counted under. */
  private readonly counted = new WeakMap<Socket, string>();
  private loggedAt = -Infinity;
  private refusedSinceLog = 0;

  constructor(private readonly options: UnauthenticatedConnectionsOptions) {}

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.accept(socket));
  }

  /** One of the connection's requests presented valid credentials: it no longer counts. */
  readonly authenticated = (socket: Socket): void => this.release(socket);

  private accept(socket: Socket): void {
    const address = socket.remoteAddress;
    if (address === undefined) return; // already gone
    const open = this.open.get(address) ?? 0;
    if (open >= this.options.maxPerAddress) return this.refuse(socket, address);
    this.open.set(address, open + 1);
    this.counted.set(socket, address);
    socket.once('close', () => this.release(socket));
  }

  /** The connection stops counting (authenticated, or closed); a second call changes nothing. */
  private release(socket: Socket): void {
    const address = this.counted.get(socket);
    if (address === undefined) return;
    this.counted.delete(socket);
    const open = (this.open.get(address) ?? 1) - 1;
    if (open > 0) this.open.set(address, open);
    else this.open.delete(address);
  }

  private refuse(socket: Socket, address: string): void {
    const { api, maxPerAddress, logger, metrics } = this.options;
    metrics.countConnectionRefused(api);
    closeWithError(socket, errors.TOO_MANY_CONNECTIONS(maxPerAddress));
    // A flood must not flood the log too: one line per interval, with the count since the last one.
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.loggedAt < LOG_INTERVAL_MS) return;
    logger.warn({ api, address, maxPerAddress, refused: this.refusedSinceLog }, 'connections refused: too many unauthenticated connections from one address');
    this.loggedAt = now;
    this.refusedSinceLog = 0;
  }
}
