import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClusterDirectory, NodeCard } from '../store/cluster-directory.js';

/** How often a node says it is alive; a card older than `STALE_AFTER_MS` is taken for a node gone. */
export const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

/** Whether the node of this card still says it is alive. */
export function isAlive(card: NodeCard, now: number): boolean {
  return now - card.seen_at < STALE_AFTER_MS;
}

export interface MembershipOptions {
  directory: ClusterDirectory;
  node: string;
  logger: Logger;
  now: () => number;
}

/** Where the other nodes reach this node's management API, and the CA they pin (absent on plain HTTP). */
export interface Address {
  url: string;
  caFingerprint: string | undefined;
}

/**
 * This node's card in the cluster: written at start, again every `HEARTBEAT_MS`, removed at a
 * graceful stop. Its secret is made anew at each start; the other nodes read it from the card and
 * present it when they tell this node something, so only a reader of the cluster can.
 */
export class ClusterMembership {
  readonly secret = randomBytes(32).toString('base64url');
  private timer: NodeJS.Timeout | null = null;
  /** The heartbeat's write under way, waited for by `leave` (or it would write the card back). */
  private announcing: Promise<void> = Promise.resolve();

  constructor(private readonly options: MembershipOptions) {}

  /** Writes the card (a failure fails the start: the cluster was reachable a moment ago). */
  async join(address: Address): Promise<void> {
    await this.options.directory.announce(this.card(address));
    this.timer = setInterval(() => {
      this.announcing = this.options.directory
        .announce(this.card(address))
        .catch((err: unknown) => this.options.logger.warn({ err }, "cannot refresh this node's card in the cluster"));
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.announcing;
    await this.options.directory.leave(this.options.node).catch((err: unknown) => this.options.logger.warn({ err }, "cannot remove this node's card from the cluster"));
  }

  private card({ url, caFingerprint }: Address): NodeCard {
    const { node, now } = this.options;
    return { node, url, ...(caFingerprint ? { ca_fingerprint: caFingerprint } : {}), secret: this.secret, seen_at: now() };
  }
}
