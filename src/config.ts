import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { errors } from './errors.js';

/**
 * One typed, validated configuration. Each option is read, in order of precedence, from a
 * command-line flag, a `COURIER_*` environment variable, the JSON file named by `--config`
 * (or `COURIER_CONFIG`), and finally its default.
 */
type Kind = 'string' | 'port' | 'int' | 'duration' | 'sync' | 'logLevel';

interface OptionSpec {
  flag: string;
  kind: Kind;
  describe: string;
  /** Smallest accepted value (ms for durations). */
  min?: number;
}

export const OPTIONS = {
  host: { flag: 'host', kind: 'string', describe: 'Interface of the agents API (comms API)' },
  port: { flag: 'port', kind: 'port', describe: 'TCP port of the agents API' },
  dataDir: { flag: 'data-dir', kind: 'string', describe: 'Directory of the embedded store, keys and socket' },
  socket: { flag: 'socket', kind: 'string', describe: 'Path of the local admin Unix socket (default <data-dir>/courier.sock)' },
  longPollTimeout: { flag: 'long-poll-timeout', kind: 'duration', min: 1000, describe: 'How long an agent long-poll is held before 408' },
  executionTimeout: { flag: 'execution-timeout', kind: 'duration', describe: 'How long a delivered command may take to report a result' },
  node: { flag: 'node', kind: 'string', describe: 'Name of this node in the audit trail (default: host name)' },
  logLevel: { flag: 'log-level', kind: 'logLevel', describe: 'fatal, error, warn, info, debug, trace or silent' },
  sync: { flag: 'sync', kind: 'sync', describe: 'SQLite durability: normal (survives a crash) or full (also power loss)' },
  bodyLimit: { flag: 'body-limit', kind: 'int', describe: 'Largest accepted request body, in bytes' },
  wsPingInterval: { flag: 'ws-ping-interval', kind: 'duration', describe: 'WebSocket keepalive ping interval' },
  maxCommandsPerDelivery: { flag: 'max-commands-per-delivery', kind: 'int', describe: 'Most commands in one long-poll answer or WebSocket frame' },
} as const satisfies Record<string, OptionSpec>;

export type ConfigKey = keyof typeof OPTIONS;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  socket: string;
  /** ms */
  longPollTimeout: number;
  /** ms */
  executionTimeout: number;
  node: string;
  logLevel: string;
  sync: 'normal' | 'full';
  bodyLimit: number;
  /** ms */
  wsPingInterval: number;
  maxCommandsPerDelivery: number;
}

const DEFAULTS: Omit<Config, 'socket' | 'dataDir' | 'node'> & { dataDir: string } = {
  host: '0.0.0.0',
  port: 27000,
  dataDir: 'data',
  longPollTimeout: 300_000,
  executionTimeout: 600_000,
  logLevel: 'info',
  sync: 'normal',
  bodyLimit: 1_048_576,
  wsPingInterval: 30_000,
  maxCommandsPerDelivery: 100,
};

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** `1500ms`, `30s`, `5m`, `1h`, or a bare number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration (e.g. 500ms, 30s, 5m, 1h)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

function convert(key: ConfigKey, raw: unknown): unknown {
  const spec: OptionSpec = OPTIONS[key];
  const value = convertKind(spec.kind, raw);
  if (spec.min !== undefined && typeof value === 'number' && value < spec.min) {
    throw new Error(`must be at least ${spec.kind === 'duration' ? `${spec.min} ms` : spec.min}`);
  }
  return value;
}

function convertKind(kind: Kind, raw: unknown): unknown {
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(`expected a string or a number, got ${JSON.stringify(raw)}`);
  const text = String(raw).trim();
  if (text === '') throw new Error('is empty');
  switch (kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new Error('expected a non-empty string');
      return raw;
    case 'port': {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`"${text}" is not a port (0-65535)`);
      return n;
    }
    case 'int': {
      const n = Number(text);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`"${text}" is not a positive integer`);
      return n;
    }
    case 'duration': {
      const ms = typeof raw === 'number' ? Math.round(raw * 1000) : parseDuration(text);
      if (!(ms > 0)) throw new Error(`"${text}" is not a positive duration`);
      return ms;
    }
    case 'sync':
      if (text !== 'normal' && text !== 'full') throw new Error(`"${text}" is not one of normal, full`);
      return text;
    case 'logLevel':
      if (!LOG_LEVELS.has(text)) throw new Error(`"${text}" is not one of ${[...LOG_LEVELS].join(', ')}`);
      return text;
  }
}

export function envName(key: ConfigKey): string {
  return `COURIER_${OPTIONS[key].flag.replaceAll('-', '_').toUpperCase()}`;
}

export interface ConfigSources {
  /** Flag values as parsed from the command line (strings), keyed by config key. */
  flags?: Partial<Record<ConfigKey, string>>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (keys as in `Config`). */
  file?: string;
  cwd?: string;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const filePath = sources.file ?? env.COURIER_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (filePath) {
    try {
      fromFile = JSON.parse(readFileSync(resolve(cwd, filePath), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw errors.CONFIG(`cannot read config file ${filePath}: ${(error as Error).message}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw errors.CONFIG(`${filePath} must hold a JSON object of options`);
    }
    for (const key of Object.keys(fromFile)) {
      if (!(key in OPTIONS)) throw errors.CONFIG(`unknown key "${key}" in ${filePath}`);
    }
  }

  const values: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(OPTIONS) as ConfigKey[]) {
    const [origin, raw] =
      sources.flags?.[key] !== undefined
        ? [`--${OPTIONS[key].flag}`, sources.flags[key]]
        : env[envName(key)] !== undefined
          ? [envName(key), env[envName(key)]]
          : fromFile[key] !== undefined
            ? [`${filePath}:${key}`, fromFile[key]]
            : [null, undefined];
    if (origin === null) continue;
    try {
      values[key] = convert(key, raw);
    } catch (error) {
      throw errors.CONFIG(`${origin}: ${(error as Error).message}`);
    }
  }

  const dataDir = resolve(cwd, values.dataDir as string);
  const config: Config = {
    ...(values as Omit<Config, 'dataDir' | 'socket' | 'node'>),
    dataDir,
    socket: resolve(cwd, (values.socket as string | undefined) ?? resolve(dataDir, 'courier.sock')),
    node: (values.node as string | undefined) ?? hostname(),
  };
  return config;
}
