import { loadConfig } from '../config.js';
import { requestJson, type JsonResponse } from '../http-client.js';
import type { ClientTls } from '../tls/client-tls.js';
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { tlsFromFlags, withTlsOptions, type TlsValues } from './tls-options.js';
import { UsageError } from './usage.js';

/**
 * Where an operator command goes: the local admin Unix socket (default: `--socket`, or
 * `<--data-dir>/courier.sock`), or a remote management API (`--url` and `--api-key`, or
 * COURIER_URL and COURIER_API_KEY).
 */
export function withConnectionOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
): Command<Args, Opts & ConnectionValues, Globals> {
  return withTlsOptions(
    command
      .option('--json', 'print JSON instead of tables (errors too)')
      .option('--socket <path>', 'the local admin Unix socket (the default connection) [COURIER_SOCKET]')
      .option('--data-dir <dir>', 'or the data directory of the local node, whose socket it is [COURIER_DATA_DIR]')
      .option('--url <url>', 'a remote management API instead, e.g. https://host:55000 [COURIER_URL]')
      .option('--api-key <key>', 'the API key for --url [COURIER_API_KEY]')
      // Refused with a message naming the flags that replace it (see `refuseKeyFlag`).
      .addOption(new Option('--key <key>').hideHelp()),
  ) as unknown as Command<Args, Opts & ConnectionValues, Globals>;
}

/** The connection options as parsed (the return type of `withConnectionOptions` is spelled out: see withTlsOptions). */
export interface ConnectionValues extends TlsValues {
  json?: true | undefined;
  socket?: string | undefined;
  dataDir?: string | undefined;
  url?: string | undefined;
  apiKey?: string | undefined;
  key?: string | undefined;
}

/**
 * `--key` once meant the management API's key on some commands and an agent's own key on others
 * (an API key could end up registered as an agent's secret): each has a flag of its own now.
 */
export function refuseKeyFlag(values: { key?: string | undefined }): void {
  if (values.key !== undefined) {
    throw new UsageError(null, "--key is ambiguous and no longer taken: give --api-key <key> for the management API, or --agent-key <key> for an agent's own key");
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
    const url = values.url ?? env.COURIER_URL;
    if (values.apiKey !== undefined && !url) {
      throw new UsageError(null, '--api-key is for a remote management API: give --url too (the admin socket takes no key)');
    }
    if (url) {
      const key = values.apiKey ?? env.COURIER_API_KEY;
      if (!key) throw new UsageError(null, '--url needs --api-key (or COURIER_API_KEY): the management API takes no request without a key');
      return new Connection({ baseUrl: url, key }, values, env);
    }
    const flags: { socket?: string; dataDir?: string } = {};
    if (values.socket !== undefined) flags.socket = values.socket;
    if (values.dataDir !== undefined) flags.dataDir = values.dataDir;
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
