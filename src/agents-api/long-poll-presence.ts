import type { Logger } from 'pino';

/**
 * How long an agent may go without a long-poll open before it counts as gone: an agent between two
 * polls (reporting what the last one brought, backing off after an error) has not left.
 */
const GONE_AFTER_MS = 60_000;
/** How often agents without a poll are looked for. */
const SWEEP_MS = 10_000;

export interface LongPollPresenceOptions {
  node: string;
  logger: Logger;
  now: () => number;
  goneAfterMs?: number;
}

interface Presence {
  address: string;
  /** Polls open now. */
  open: number;
  /** When the agent was first seen (ms). */
  since: number;
  /** When its last poll ended (ms). */
  lastPollEnded: number;
}

/**
 * Long-polling agents come and go one request at a time: logging each poll would be a line per agent
 * per answer. This logs an agent once when it is first seen polling ('agent connected') and once when
 * it has had no poll open for a minute ('agent disconnected'), as a WebSocket's open and close are.
 */
export class LongPollPresence {
  private readonly agents = new Map<string, Presence>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly goneAfterMs: number;

  constructor(private readonly options: LongPollPresenceOptions) {
    this.goneAfterMs = options.goneAfterMs ?? GONE_AFTER_MS;
    this.sweeper = setInterval(() => this.sweep(), Math.min(SWEEP_MS, this.goneAfterMs));
    this.sweeper.unref();
  }

  /** A poll of the agent is open; returns what to call once it has ended (once; later calls do nothing). */
  opened(agentId: string, address: string): () => void {
    const now = this.options.now();
    let presence = this.agents.get(agentId);
    if (!presence) {
      this.agents.set(agentId, (presence = { address, open: 0, since: now, lastPollEnded: now }));
      this.options.logger.info({ agentId, transport: 'long-poll', node: this.options.node, address }, 'agent connected');
    }
    presence.open++;
    presence.address = address;
    const entry = presence;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.open--;
      entry.lastPollEnded = this.options.now();
    };
  }

  /** Logs and forgets the agents that have had no poll open for long enough. */
  sweep(): void {
    const now = this.options.now();
    for (const [agentId, presence] of this.agents) {
      if (presence.open > 0 || now - presence.lastPollEnded < this.goneAfterMs) continue;
      this.agents.delete(agentId);
      const { address, since, lastPollEnded } = presence;
      this.options.logger.info(
        { agentId, transport: 'long-poll', node: this.options.node, address, reason: `no poll for ${Math.round(this.goneAfterMs / 1000)} s`, connectedMs: lastPollEnded - since },
        'agent disconnected',
      );
    }
  }

  /** Agents seen polling and not yet gone. */
  get size(): number {
    return this.agents.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
