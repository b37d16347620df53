import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import type { CommandDocument } from '../domain/command.js';
import { requestJson } from '../http-client.js';
import type { ClusterDirectory, NodeCard } from '../store/cluster-directory.js';
import { clientTls, type ClientTls } from '../tls/client-tls.js';
import { STALE_AFTER_MS } from './cluster-membership.js';

/** How long a route's recorded node, and a node's card, are taken as they were read. */
const CACHE_MS = 10_000;
const NOTICE_TIMEOUT_MS = 5_000;
export const NOTICE_PATH = '/api/v1/cluster/commands';
/** Most commands in one notice (the receiving route's limit). */
export const MAX_NOTICE_COMMANDS = 5000;

/** A command as announced: its document as created, and the version it was stored at. */
export interface NoticeCommand {
  version: string;
  document: CommandDocument;
}

export interface ChangeNoticesOptions {
  directory: ClusterDirectory;
  node: string;
  /** Whether this node serves the route itself (then nobody needs telling). */
  serves: (route: string) => boolean;
  /** The version a command was stored at (see `CommandStore.versionOf`); one unknown is not announced. */
  versionOf: (documentId: string) => string | undefined;
  /** Most bytes in one notice: below the receiving node's body limit (a group's members share large args). */
  maxNoticeBytes: number;
  logger: Logger;
  now: () => number;
}

interface Peer {
  card: NodeCard;
  readAt: number;
  /** How its certificate is verified (its CA pinned by the fingerprint on its card), once learned. */
  tls: Promise<ClientTls | undefined>;
  agent: HttpAgent;
}

/**
 * The change feed between nodes: a node that creates commands for agents connected to another node
 * tells that node at once (`POST /api/v1/cluster/commands` on its management API, with the
 * documents as created and the version each was stored at), instead of leaving it to find them at
 * its next poll. The owner of a route is read from
 * the cluster's connection records (kept `CACHE_MS`); a node that no longer serves a route says so,
 * and the route is read again next time. Everything here is a hint: a notice that is lost, late or
 * sent to the wrong node costs latency (the poll delivers), never a command.
 */
export class ChangeNotices {
  private pending: NoticeCommand[] = [];
  private scheduled = false;
  private sending: Promise<void> = Promise.resolve();
  private readonly owners = new Map<string, { node: string; readAt: number }>();
  private readonly peers = new Map<string, Peer>();
  private closed = false;

  constructor(private readonly options: ChangeNoticesOptions) {}

  /** Commands just created here: those for routes served elsewhere are announced to their node. */
  created(docs: CommandDocument[]): void {
    if (this.closed) return;
    for (const document of docs) {
      if (this.options.serves(document.route)) continue;
      const version = this.options.versionOf(document.document_id);
      if (version !== undefined) this.pending.push({ version, document });
    }
    if (this.pending.length === 0 || this.scheduled) return;
    this.scheduled = true;
    // The creates of one turn (slices of one request, several requests) go out together.
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      this.sending = this.sending.then(() => this.send(batch));
    });
  }

  /** Resolves once every notice of the commands created so far has been sent (or given up). */
  async flushed(): Promise<void> {
    if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.sending;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushed();
    for (const peer of this.peers.values()) peer.agent.destroy();
    this.peers.clear();
  }

  private async send(batch: NoticeCommand[]): Promise<void> {
    try {
      const byNode = await this.byOwner(batch);
      await Promise.all([...byNode].map(([node, commands]) => this.tell(node, commands)));
    } catch (err) {
      this.options.logger.warn({ err, commands: batch.length }, 'cannot tell other nodes of commands created here; they will find them by the poll');
    }
  }

  /** The commands grouped by the node their route is connected to; routes connected nowhere are left out. */
  private async byOwner(batch: NoticeCommand[]): Promise<Map<string, NoticeCommand[]>> {
    const now = this.options.now();
    const unknown = new Set<string>();
    for (const {
      document: { route },
    } of batch) {
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
      const node = this.owners.get(command.document.route)?.node;
      if (node === undefined || node === this.options.node) continue;
      const list = byNode.get(node);
      if (list) list.push(command);
      else byNode.set(node, [command]);
    }
    return byNode;
  }

  private async tell(node: string, commands: NoticeCommand[]): Promise<void> {
    const peer = await this.peer(node);
    if (!peer) return;
    const { card } = peer;
    for (const body of this.notices(commands)) {
      try {
        const res = await requestJson({
          baseUrl: card.url,
          method: 'POST',
          path: NOTICE_PATH,
          headers: { authorization: `Bearer ${card.secret}` },
          body,
          agent: peer.agent,
          tls: await peer.tls,
          signal: AbortSignal.timeout(NOTICE_TIMEOUT_MS),
        });
        if (res.status !== 200) throw new Error(`answered ${res.status}: ${JSON.stringify(res.body)}`);
        // Routes that node no longer serves: their owner is read again next time.
        for (const route of (res.body as { not_served?: string[] }).not_served ?? []) this.owners.delete(route);
      } catch (err) {
        // Its card may be out of date (a restart makes a new secret and maybe a new CA): read it again next time.
        this.forgetPeer(node);
        this.options.logger.warn({ err, node, url: card.url }, 'cannot tell a node of commands for its agents; it will find them by the poll');
        return;
      }
    }
  }

  /** The bodies (JSON text) of the notices of `commands`: each within `maxNoticeBytes` and `MAX_NOTICE_COMMANDS`. */
  private *notices(commands: NoticeCommand[]): Generator<string> {
    const head = `{"from":${JSON.stringify(this.options.node)},"commands":[`;
    let items: string[] = [];
    let bytes = head.length + 2;
    for (const command of commands) {
      const item = JSON.stringify(command);
      const size = Buffer.byteLength(item);
      if (items.length > 0 && (items.length === MAX_NOTICE_COMMANDS || bytes + size + 1 > this.options.maxNoticeBytes)) {
        yield `${head}${items.join(',')}]}`;
        items = [];
        bytes = head.length + 2;
      }
      items.push(item);
      bytes += size + 1;
    }
    if (items.length > 0) yield `${head}${items.join(',')}]}`;
  }

  /** The node's card (read at most every `CACHE_MS`), or null for a node gone or unknown. */
  private async peer(node: string): Promise<Peer | null> {
    const now = this.options.now();
    let peer = this.peers.get(node);
    if (!peer || now - peer.readAt >= CACHE_MS) {
      const card = (await this.options.directory.cards([node])).get(node);
      if (peer && (!card || card.url !== peer.card.url || card.secret !== peer.card.secret || card.ca_fingerprint !== peer.card.ca_fingerprint)) this.forgetPeer(node);
      if (!card) return null;
      peer = this.peers.get(node);
      if (peer) {
        peer.card = card;
        peer.readAt = now;
      } else {
        const secure = new URL(card.url).protocol === 'https:';
        peer = {
          card,
          readAt: now,
          tls: clientTls(card.url, { caFingerprint: card.ca_fingerprint }),
          agent: secure ? new HttpsAgent({ keepAlive: true, maxSockets: 4 }) : new HttpAgent({ keepAlive: true, maxSockets: 4 }),
        };
        // A failed pin is reported where the notice is sent; here it must not be an unhandled rejection.
        peer.tls.catch(() => {});
        this.peers.set(node, peer);
      }
    }
    return now - peer.card.seen_at < STALE_AFTER_MS ? peer : null;
  }

  private forgetPeer(node: string): void {
    this.peers.get(node)?.agent.destroy();
    this.peers.delete(node);
  }
}
