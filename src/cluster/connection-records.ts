import type { Logger } from 'pino';
import type { ClusterDirectory, ConnectionRecord } from '../store/cluster-directory.js';

type Transport = ConnectionRecord['transport'];

/** Changes gathered into one write (agents connect in bursts: a node restarted, a network back). */
const FLUSH_DELAY_MS = 50;
/** How long before a removal that failed is tried again. */
const RETRY_DELAY_MS = 5_000;

/**
 * Records in the cluster which routes are connected to this node: a route that starts being served
 * here is recorded, one whose grace passed is removed (if no other node recorded it since). The
 * creating node of a command reads it to tell this node at once (see `ChangeNotices`). Writes are
 * gathered for `FLUSH_DELAY_MS`. A record that cannot be written is logged and left: a record is a
 * hint, and without it the command reaches the agent by the poll, later. A removal that cannot be
 * made is tried again: a record left behind would send this node notices for agents elsewhere.
 */
export class ConnectionRecords {
  /** Route -> its transport (served from now on) or null (no longer served). */
  private readonly changes = new Map<string, Transport | null>();
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly directory: ClusterDirectory,
    private readonly node: string,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** A route started being served here (by this transport) or stopped (null). */
  changed(route: string, servedBy: Transport | null): void {
    if (this.closed) return;
    this.changes.set(route, servedBy);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, FLUSH_DELAY_MS).unref();
  }

  /** Writes what is pending, then removes every record that names this node (a graceful stop). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.timer = this.retry = null;
    await this.flushing.then(() => this.flush());
    await this.directory.clear(this.node).catch((err: unknown) => this.logger.warn({ err }, "cannot remove this node's connection records; it removes them when it starts again"));
  }

  private async flush(): Promise<void> {
    const connected: { route: string; transport: Transport }[] = [];
    const disconnected: string[] = [];
    for (const [route, transport] of this.changes) {
      if (transport) connected.push({ route, transport });
      else disconnected.push(route);
    }
    this.changes.clear();
    try {
      await this.directory.connect(connected, this.node, this.now());
    } catch (err) {
      this.logger.warn({ err, routes: connected.length }, 'cannot record which agents are connected here; other nodes will reach them by the poll');
    }
    let kept = disconnected;
    try {
      kept = await this.directory.disconnect(disconnected);
    } catch (err) {
      this.logger.warn({ err, routes: disconnected.length }, 'cannot remove the records of agents no longer connected here; trying again');
    }
    // Tried again unless the route has changed since (at close, `clear` removes what is left).
    if (kept.length > 0 && !this.closed) {
      for (const route of kept) if (!this.changes.has(route)) this.changes.set(route, null);
      this.retry ??= setTimeout(() => {
        this.retry = null;
        this.flushing = this.flushing.then(() => this.flush());
      }, RETRY_DELAY_MS).unref();
    }
  }
}
