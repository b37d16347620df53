import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import type { CommandDocument } from '../domain/command.js';
import { requestJson } from '../http-client.js';
import type { ClusterDirectory, NodeCard } from '../store/cluster-directory.js';
import { clientTls, type ClientTls } from '../tls/client-tls.js';
import { isAlive } from './cluster-membership.js';

/** How long a route's recorded node, and a node's card, are taken as they were read. */
const CACHE_MS = 10_000;
const NOTICE_TIMEOUT_MS = 5_000;
/** How long a node that could not be reached is not tried again (its notices are dropped meanwhile). */
const BACKOFF_MS = 10_000;
/** Most commands waiting for one node; past it the oldest are dropped (the poll finds them). */
const MAX_QUEUED = 10_000;
export const NOTICE_PATH = '/api/v1/cluster/commands';
/** Most commands in one notice (the receiving route's limit). */
export const MAX_NOTICE_COMMANDS = 2000;

/** A command as announced: the receiving node reads it from the cluster by its id. */
export interface NoticeCommand {
  document_id: string;
  route: string;
}

export interface ChangeNoticesOptions {
  directory: ClusterDirectory;
  node: string;
  /** Whether this node serves the route itself (then nobody needs telling). */
  serves: (route: string) => boolean;
  logger: Logger;
  now: () => number;
}

/** Another node, as this one tells it of commands: its card, how it is reached, what waits for it. */
interface Peer {
  card: NodeCard;
  readAt: number;
  /** How its certificate is verified (its CA pinned by the fingerprint on its card). */
  tls: Promise<ClientTls | undefined>;
  /** The pin failed (the node was down, or showed another CA): tried again when it is next told something. */
  pinFailed: boolean;
  agent: HttpAgent;
  queue: NoticeCommand[];
  sending: Promise<void> | null;
  /** Not tried before this time (it could not be reached). */
  downUntil: number;
}

/**
 * The change feed between nodes: a node that creates commands for agents connected to another node
 * tells that node at once (`POST /api/v1/cluster/commands` on its management API, with their ids
 * and routes), instead of leaving it to find them at its next poll. The owner of a route is read
 * from the cluster's connection records (kept `CACHE_MS`); a node that no longer serves a route
 * says so, and the route is read again next time. Each node has a queue of its own, so that one
 * that does not answer delays no other. Everything here is a hint: a notice that is lost, late,
 * dropped or sent to the wrong node costs latency (the poll delivers), never a command.
 */
export class ChangeNotices {
  private pending: NoticeCommand[] = [];
  private scheduled = false;
  private routing: Promise<void> = Promise.resolve();
  /** Where routes are connected, as read; "connected nowhere" is not kept: the agent may connect at any moment. */
  private readonly owners = new Map<string, { node: string; readAt: number }>();
  private readonly peers = new Map<string, Peer>();
  private readonly stop = new AbortController();
  private closed = false;

  constructor(private readonly options: ChangeNoticesOptions) {}

  /** Commands just created here: those for routes served elsewhere are announced to their node. */
  created(docs: CommandDocument[]): void {
    if (this.closed) return;
    for (const { document_id, route } of docs) if (!this.options.serves(route)) this.pending.push({ document_id, route });
    if (this.pending.length === 0 || this.scheduled) return;
    this.scheduled = true;
    // The creates of one turn (slices of one request, several requests) go out together.
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      this.routing = this.routing.then(() => this.route(batch));
    });
  }

  /** Resolves once every notice of the commands created so far has been sent, or given up. */
  async flushed(): Promise<void> {
    if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.routing;
    await Promise.all([...this.peers.values()].flatMap((peer) => (peer.sending ? [peer.sending] : [])));
  }

  /** Drops what waits, cuts what is under way. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    for (const peer of this.peers.values()) peer.queue = [];
    await this.flushed();
    for (const peer of this.peers.values()) peer.agent.destroy();
    this.peers.clear();
  }

  /** Queues each command for the node its route is connected to. */
  private async route(batch: NoticeCommand[]): Promise<void> {
    try {
      for (const [node, commands] of await this.byOwner(batch)) {
        const peer = await this.peer(node);
        if (!peer || this.closed || peer.downUntil > this.options.now()) continue;
        peer.queue.push(...commands);
        if (peer.queue.length > MAX_QUEUED) {
          this.options.logger.warn({ node, dropped: peer.queue.length - MAX_QUEUED }, 'too many commands waiting to be announced to a node; the oldest are left to its poll');
          peer.queue.splice(0, peer.queue.length - MAX_QUEUED);
        }
        peer.sending ??= this.drain(node, peer).finally(() => (peer.sending = null));
      }
    } catch (err) {
      this.options.logger.warn({ err, commands: batch.length }, 'cannot tell other nodes of commands created here; they will find them by the poll');
    }
  }

  /** The commands grouped by the node their route is connected to; routes connected nowhere are left out. */
  private async byOwner(batch: NoticeCommand[]): Promise<Map<string, NoticeCommand[]>> {
    const now = this.options.now();
    const unknown = new Set<string>();
    for (const { route } of batch) {
      const owner = this.owners.get(route);
      if (!owner || now - owner.readAt >= CACHE_MS) unknown.add(route);
    }
    if (unknown.size > 0) {
      const records = await this.options.directory.connections([...unknown]);
      for (const route of unknown) {
        const record = records.get(route);
        if (record) this.owners.set(route, { node: record.node, readAt: now });
        else this.owners.delete(route);
      }
    }
    const byNode = new Map<string, NoticeCommand[]>();
    for (const command of batch) {
      const node = this.owners.get(command.route)?.node;
      if (node === undefined || node === this.options.node) continue;
      const list = byNode.get(node);
      if (list) list.push(command);
      else byNode.set(node, [command]);
    }
    return byNode;
  }

  /** Sends what waits for the node, a notice at a time, until nothing does. */
  private async drain(node: string, peer: Peer): Promise<void> {
    while (peer.queue.length > 0 && !this.closed) {
      const commands = peer.queue.splice(0, MAX_NOTICE_COMMANDS);
      const outcome = await this.tell(peer, commands);
      if (outcome === 'told') continue;
      // Refused (a new secret: it restarted) or not reached: its card is read again, what waits is
      // left to its poll, and one not reached is not tried for a while.
      peer.readAt = 0;
      peer.queue = [];
      if (outcome === 'unreachable') peer.downUntil = this.options.now() + BACKOFF_MS;
    }
  }

  private async tell(peer: Peer, commands: NoticeCommand[]): Promise<'told' | 'refused' | 'unreachable'> {
    const { card } = peer;
    try {
      const res = await requestJson({
        baseUrl: card.url,
        method: 'POST',
        path: NOTICE_PATH,
        headers: { authorization: `Bearer ${card.secret}` },
        body: { from: this.options.node, commands },
        agent: peer.agent,
        tls: await peer.tls,
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(NOTICE_TIMEOUT_MS)]),
      });
      if (res.status === 200) {
        // Routes that node does not serve: where they are is read again next time.
        for (const route of (res.body as { not_served?: string[] }).not_served ?? []) this.owners.delete(route);
        return 'told';
      }
      this.options.logger.warn({ node: card.node, status: res.status, body: res.body }, 'a node refused a notice of commands for its agents; it will find them by the poll');
      return 'refused';
    } catch (err) {
      if (!this.closed)
        this.options.logger.warn({ err, node: card.node, url: card.url }, 'cannot reach a node to tell it of commands for its agents; it will find them by the poll');
      return 'unreachable';
    }
  }

  /** The node's card (read at most every `CACHE_MS`), or null for a node gone or unknown. */
  private async peer(node: string): Promise<Peer | null> {
    const now = this.options.now();
    let peer = this.peers.get(node);
    if (!peer || now - peer.readAt >= CACHE_MS) {
      const card = (await this.options.directory.cards([node])).get(node);
      // Reached elsewhere, or pinned to another CA: a new connection and a new pin.
      if (peer && (!card || card.url !== peer.card.url || card.ca_fingerprint !== peer.card.ca_fingerprint)) {
        peer.agent.destroy();
        this.peers.delete(node);
        peer = undefined;
      }
      if (!card) return null;
      if (peer) {
        peer.card = card;
        peer.readAt = now;
        if (peer.pinFailed) this.pin(peer);
      } else {
        peer = this.link(card, now);
        this.peers.set(node, peer);
      }
    }
    return isAlive(peer.card, now) ? peer : null;
  }

  private link(card: NodeCard, now: number): Peer {
    const secure = new URL(card.url).protocol === 'https:';
    const peer: Peer = {
      card,
      readAt: now,
      tls: Promise.resolve(undefined),
      pinFailed: false,
      agent: secure ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 }),
      queue: [],
      sending: null,
      downUntil: 0,
    };
    this.pin(peer);
    return peer;
  }

  /** Learns the node's CA from its handshake, by the fingerprint on its card (nothing to learn on plain HTTP). */
  private pin(peer: Peer): void {
    peer.pinFailed = false;
    peer.tls = clientTls(peer.card.url, { caFingerprint: peer.card.ca_fingerprint });
    // A failed pin is reported where the notice is sent; here it must not be an unhandled rejection.
    peer.tls.catch(() => (peer.pinFailed = true));
  }
}
