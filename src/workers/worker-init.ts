import type { TokenKeySource } from '../auth/agent-tokens.js';
import type { Config } from '../config.js';
import type { TlsServerOptions } from '../tls/server-tls.js';

// Shared by the primary and its connection workers; no effects (connection-worker.ts is a process's entry).

/** What the primary tells a worker it starts. */
export interface WorkerInit {
  index: number;
  config: Config;
  /** The primary's log level: the worker's lines go to the primary's logger (see `relog`). */
  logLevel: string;
  tls: TlsServerOptions | undefined;
  mutualTls: boolean;
  tokenKeys: TokenKeySource;
  tokenLifetimeS: number | undefined;
}

/** The key of the message `{connection: <its address>}` that carries an accepted connection's socket. */
export const CONNECTION_MESSAGE = 'connection';
