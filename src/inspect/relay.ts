import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { bridgePage } from './bridge-page.js';
import type { InspectionBridge } from './inspection-bridge.js';

/** The relay listens on the loopback interface only, whatever the agents API listens on. */
export const RELAY_HOST = '127.0.0.1';

/** A viewer this far behind (bytes queued on its socket) misses messages until it catches up. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export interface InspectorRelayOptions {
  port: number;
  bridge: InspectionBridge;
  logger: Logger;
  /** Where courier's own console is, for the page to point to when the Stately inspector cannot be loaded. */
  consoleUrl?: () => string | null;
  /** Defaults to 24 random bytes, base64url. */
  token?: string;
}

/**
 * The inspector relay: an HTTP server on 127.0.0.1 that serves the bridge page at `/` and
 * streams the bridge's inspection messages over WebSocket to clients that present the token
 * (`?token=` or `Authorization: Bearer`). Clients cannot send anything. Unlike the relay of
 * `@statelyai/inspect/server` it never listens beyond loopback, refuses clients without the
 * token, and replays nothing to late clients but the live actors.
 */
export class InspectorRelay {
  readonly token: string;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  private port = 0;
  private skipped = 0;

  constructor(private readonly options: InspectorRelayOptions) {
    this.token = options.token ?? randomBytes(24).toString('base64url');
    this.server = createServer((request, response) => {
      const host = request.headers.host;
      if (!isLoopbackName(host) || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(403).end();
        return;
      }
      if (new URL(request.url ?? '/', 'http://relay').pathname !== '/') {
        response.writeHead(404).end();
        return;
      }
      const page = bridgePage(host, this.options.consoleUrl?.() ?? null);
      response.writeHead(200, page.headers).end(request.method === 'HEAD' ? undefined : page.html);
    });
    this.server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
  }

  /** The page to open in a browser; the token travels in the fragment. */
  get url(): string {
    return `http://${RELAY_HOST}:${this.port}/#token=${this.token}`;
  }

  /** The WebSocket address for programmatic clients (add `?token=`). */
  get webSocketUrl(): string {
    return `ws://${RELAY_HOST}:${this.port}/`;
  }

  get listeningPort(): number {
    return this.port;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: RELAY_HOST, port: this.options.port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    // Logged once, with the token: whoever can read this log can watch the actors.
    this.options.logger.info({ url: this.url }, 'Stately inspector relay listening on 127.0.0.1; open the url in a browser');
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refusal = this.refusal(request);
    if (refusal) {
      this.options.logger.warn({ status: refusal, origin: request.headers.origin }, 'inspector client refused');
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.serve(ws));
  }

  private refusal(request: IncomingMessage): string | null {
    if (!isLoopbackName(request.headers.host)) return '403 Forbidden';
    // A browser may connect only from a loopback page (the relay's own), not from a site the user visits.
    const origin = request.headers.origin;
    if (origin !== undefined && !(origin.startsWith('http://') && isLoopbackName(origin.slice('http://'.length)))) return '403 Forbidden';
    const url = new URL(request.url ?? '/', 'http://relay');
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const presented = url.searchParams.get('token') ?? bearer;
    return presented && sameSecret(presented, this.token) ? null : '401 Unauthorized';
  }

  private serve(ws: WebSocket): void {
    const { bridge, logger } = this.options;
    ws.on('message', () => {}); // viewers only watch
    ws.on('error', () => ws.terminate());
    const detach = bridge.attach((json) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_QUEUED_BYTES) {
        this.skipped++;
        return;
      }
      ws.send(json);
    });
    logger.info({ viewers: bridge.stats().viewers }, 'inspector client connected');
    ws.once('close', () => {
      detach();
      logger.info({ ...bridge.stats(), skippedForSlowClients: this.skipped }, 'inspector client disconnected');
    });
  }
}

/**
 * `127.0.0.1[:port]` or `localhost[:port]`: a Host (or Origin) naming anything else is a DNS
 * rebinding attempt. Any port, so that an SSH tunnel may use another local port.
 */
export function isLoopbackName(host: string | undefined): host is string {
  return host !== undefined && /^(127\.0\.0\.1|localhost)(:\d{1,5})?$/i.test(host);
}

/** Constant-time comparison of two strings of any length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
