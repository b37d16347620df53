import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ClientTls } from './tls/client-tls.js';

export interface JsonResponse {
  status: number;
  body: unknown;
  /** With `withHeaders` only (e.g. to read a 429's Retry-After). */
  headers?: IncomingHttpHeaders;
}

export interface JsonRequest {
  /** Either a base URL (http://host:port) or the path of a Unix socket. */
  baseUrl?: string;
  socketPath?: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string (sent as is). */
  body?: unknown;
  signal?: AbortSignal;
  agent?: Agent;
  /** How to verify an `https:` base URL's certificate (see `clientTls`). */
  tls?: ClientTls | undefined;
  /** Also return the response headers. */
  withHeaders?: boolean;
}

/**
 * A small JSON client on node:http: it works over Unix sockets, and unlike fetch it has no
 * headers timeout, so it can hold a long-poll for as long as the server does.
 */
export function requestJson(options: JsonRequest): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string | number> = { ...options.headers };
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const target = options.baseUrl ? new URL(options.path, options.baseUrl) : null;
    const secure = target?.protocol === 'https:';
    const request = secure ? httpsRequest : httpRequest;
    const req = request(
      {
        ...(target ? { hostname: target.hostname, port: target.port, path: target.pathname + target.search } : { socketPath: options.socketPath, path: options.path }),
        method: options.method,
        headers,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.agent ? { agent: options.agent } : {}),
        ...(secure ? { ...options.tls, hostname: target.hostname.replace(/^\[|\]$/g, '') } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body, ...(options.withHeaders ? { headers: res.headers } : {}) });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!target && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) {
        reject(new Error(`cannot reach courier at ${options.socketPath} (${error.code}): is \`courier serve\` running?`));
      } else reject(error);
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
