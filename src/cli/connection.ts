import { loadConfig } from '../config.js';
import { requestJson, type JsonResponse } from '../http-client.js';
import type { ClientTls } from '../tls/client-tls.js';
import { TLS_HELP, TLS_OPTIONS, tlsFromFlags, type TlsValues } from './tls-options.js';

/**
 * Where an operator command goes: the local admin Unix socket (default: `--socket`, or
 * `<--data-dir>/courier.sock`), or a remote management API (`--url` and `--api-key`, or
 * COURIER_URL and COURIER_API_KEY).
 */
export const CONNECTION_OPTIONS = {
  socket: { type: 'string' },
  'data-dir': { type: 'string' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  // Refused with a message naming the flags that replace it (see `refuseKeyFlag`).
  key: { type: 'string' },
  ...TLS_OPTIONS,
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONNECTION_HELP = `Connection (default: the local admin socket):
  --socket <path> | --data-dir <dir>   the admin Unix socket [COURIER_SOCKET, COURIER_DATA_DIR]
  --url <https://host:55000> --api-key <k>   a remote management API instead [COURIER_URL, COURIER_API_KEY]
  --json                               print JSON instead of tables
${TLS_HELP}`;

export interface ConnectionValues extends TlsValues {
  socket?: string | boolean | undefined;
  'data-dir'?: string | boolean | undefined;
  url?: string | boolean | undefined;
  'api-key'?: string | boolean | undefined;
  key?: string | boolean | undefined;
}

/**
 * `--key` once meant the management API's key on some commands and an agent's own key on others
 * (an API key could end up registered as an agent's secret): each has a flag of its own now.
 */
export function refuseKeyFlag(values: { key?: string | boolean | undefined }): void {
  if (values.key !== undefined) {
    throw new Error("--key is ambiguous and no longer taken: give --api-key <key> for the management API, or --agent-key <key> for an agent's own key");
  }
}

/** Courier answered a request with an error: its HTTP status, and the body's message and code. */
export class RefusedByCourier extends Error {
  constructor(
    readonly status: number,
    readonly answer: string,
    readonly code: string | null,
  ) {
    super(`${status} ${answer}${code ? ` (${code})` : ''}`);
    this.name = 'RefusedByCourier';
  }
}

export class Connection {
  /** Resolved once, at the first call (pinning reads the server's handshake). */
  private tls: Promise<ClientTls | undefined> | undefined;

  private constructor(
    private readonly target: { socketPath: string } | { baseUrl: string; key: string },
    private readonly tlsValues: TlsValues = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  static from(values: ConnectionValues, env: NodeJS.ProcessEnv = process.env): Connection {
    refuseKeyFlag(values);
    const url = typeof values.url === 'string' ? values.url : env.COURIER_URL;
    if (typeof values['api-key'] === 'string' && !url) {
      throw new Error('--api-key is for a remote management API: give --url too (the admin socket takes no key)');
    }
    if (url) {
      const key = typeof values['api-key'] === 'string' ? values['api-key'] : env.COURIER_API_KEY;
      if (!key) throw new Error('--url needs --api-key (or COURIER_API_KEY): the management API takes no request without a key');
      return new Connection({ baseUrl: url, key }, values, env);
    }
    const flags: { socket?: string; dataDir?: string } = {};
    if (typeof values.socket === 'string') flags.socket = values.socket;
    if (typeof values['data-dir'] === 'string') flags.dataDir = values['data-dir'];
    return new Connection({ socketPath: loadConfig({ flags, env }).socket });
  }

  get remote(): boolean {
    return 'baseUrl' in this.target;
  }

  /** How to verify the management API's certificate (undefined on the socket and on http:). */
  clientTls(): Promise<ClientTls | undefined> {
    if (!('baseUrl' in this.target)) return Promise.resolve(undefined);
    return (this.tls ??= tlsFromFlags(this.target.baseUrl, this.tlsValues, this.env));
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
    const where =
      'baseUrl' in this.target
        ? { baseUrl: this.target.baseUrl, headers: { authorization: `Bearer ${this.target.key}`, ...headers }, tls: await this.clientTls() }
        : { socketPath: this.target.socketPath, headers };
    return requestJson({ ...where, method, path, ...(body !== undefined ? { body } : {}) });
  }

  /** Like `call`, but a non-2xx answer becomes an error carrying the server's message and code. */
  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status < 200 || res.status >= 300) {
      const error = res.body as { message?: string; code?: string } | null;
      throw new RefusedByCourier(res.status, error?.message ?? JSON.stringify(res.body), error?.code ?? null);
    }
    return res.body as T;
  }

  /** Connection details for a raw streaming request (server-sent events). */
  rawTarget(): { socketPath?: string; baseUrl?: string; headers: Record<string, string> } {
    return 'baseUrl' in this.target
      ? { baseUrl: this.target.baseUrl, headers: { authorization: `Bearer ${this.target.key}` } }
      : { socketPath: this.target.socketPath, headers: {} };
  }
}
