import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  /** Forward it unchanged. */
  | 'pass'
  /** Answer 503 without forwarding it. */
  | 'unavailable'
  /** Close the connection without an answer. */
  | 'reset'
  /** Forward it, then rewrite the JSON answer. */
  | { rewrite: (body: any) => any };

export interface SeenRequest {
  method: string;
  path: string;
  body: string;
}

/**
 * An HTTP proxy between courier and a real OpenSearch node that fails the requests a test
 * chooses: `decide` sees each request (method, path, body) and returns what to do with it.
 */
export class FaultyProxy {
  decide: (request: SeenRequest) => Fault = () => 'pass';
  private readonly server: Server;
  url = '';

  constructor(private readonly target: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const fault = this.decide({ method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8') });
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'unavailable') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'injected', reason: 'injected by the test proxy' }, status: 503 }));
      return;
    }
    const target = new URL(req.url ?? '/', this.target);
    const headers = { ...req.headers, host: target.host };
    delete headers['content-length'];
    delete headers['accept-encoding'];
    const upstream = request(target, { method: req.method, headers: { ...headers, 'content-length': body.length } }, (up) => {
      const parts: Buffer[] = [];
      up.on('data', (part: Buffer) => parts.push(part));
      up.on('end', () => {
        let payload = Buffer.concat(parts);
        if (typeof fault === 'object') payload = Buffer.from(JSON.stringify(fault.rewrite(JSON.parse(payload.toString('utf8')))));
        const outHeaders = { ...up.headers, 'content-length': String(payload.length) };
        delete outHeaders['transfer-encoding'];
        delete outHeaders['content-encoding'];
        res.writeHead(up.statusCode ?? 502, outHeaders);
        res.end(payload);
      });
    });
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  }
}
