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
  /**
   * A counted connection stopped counting (it authenticated, or closed): for a connection worker,
   * whose connections courier's own process counts (see `admit`). Absent: counted here only.
   */
  onReleased?: (address: string) => void;
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

  /**
   * Counts a connection just accepted under its address, or refuses it (429, closed) past the cap;
   * false if refused or already gone. With connection workers, courier's process admits each one
   * before it passes it on, and the worker says when it stops counting (`releaseAddress`).
   */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress;
    if (address === undefined) return false; // already gone
    const open = this.open.get(address) ?? 0;
    if (open >= this.options.maxPerAddress) {
      this.refuse(socket, address);
      return false;
    }
    this.open.set(address, open + 1);
    return true;
  }

  /** A connection counted under `address` by `admit` stopped counting. */
  releaseAddress(address: string): void {
    const open = (this.open.get(address) ?? 1) - 1;
    if (open > 0) this.open.set(address, open);
    else this.open.delete(address);
  }

  private accept(socket: Socket): void {
    if (!this.admit(socket)) return;
    this.counted.set(socket, socket.remoteAddress!);
    socket.once('close', () => this.release(socket));
  }

  /** The connection stops counting (authenticated, or closed); a second call changes nothing. */
  private release(socket: Socket): void {
    const address = this.counted.get(socket);
    if (address === undefined) return;
    this.counted.delete(socket);
    this.releaseAddress(address);
    this.options.onReleased?.(address);
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
