import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkTyped, convertKind, type Kind } from './config-values.js';
import { formatDuration } from './domain/duration.js';
import { errors } from './errors.js';

/**
 * One typed, validated configuration. Each option is read, in order of precedence, from a
 * command-line flag, a `COURIER_*` environment variable, the JSON or YAML file named by `--config`
 * (or `COURIER_CONFIG`), and finally its default.
 */

interface OptionSpec {
  flag: string;
  kind: Kind;
  describe: string;
  /** Smallest accepted value (ms for durations). */
  min?: number;
  /** Largest accepted value. */
  max?: number;
  /** Environment variable, when not the one derived from the flag. */
  env?: string;
}

export const OPTIONS = {
  host: { flag: 'host', kind: 'string', describe: 'Interface of the agents API (comms API)' },
  port: { flag: 'port', kind: 'port', describe: 'TCP port of the agents API' },
  managementHost: { flag: 'management-host', kind: 'string', describe: 'Interface of the management API (operators; API keys)' },
  managementPort: { flag: 'management-port', kind: 'port', describe: 'TCP port of the management API' },
  dataDir: { flag: 'data-dir', kind: 'string', describe: 'Directory of the embedded store, keys and socket' },
  socket: { flag: 'socket', kind: 'string', describe: 'Path of the local admin Unix socket (default <data-dir>/courier.sock)' },
  longPollTimeout: { flag: 'long-poll-timeout', kind: 'duration', min: 1000, describe: 'How long an agent long-poll is held before 408' },
  executionTimeout: { flag: 'execution-timeout', kind: 'duration', describe: 'How long a delivered command may take to report a result' },
  node: { flag: 'node', kind: 'string', describe: 'Name of this node in the audit trail (default: host name)' },
  logLevel: { flag: 'log-level', kind: 'logLevel', describe: 'fatal, error, warn, info, debug, trace or silent' },
  logFormat: { flag: 'log-format', kind: 'logFormat', describe: 'Log lines on stdout: auto (readable on a terminal, JSON otherwise), json or pretty' },
  sync: { flag: 'sync', kind: 'sync', describe: 'SQLite durability: normal (survives a crash) or full (also power loss)' },
  bodyLimit: { flag: 'body-limit', kind: 'int', describe: 'Largest accepted request body, in bytes' },
  wsPingInterval: { flag: 'ws-ping-interval', kind: 'duration', describe: 'WebSocket keepalive ping interval' },
  maxCommandsPerDelivery: { flag: 'max-commands-per-delivery', kind: 'int', describe: 'Most commands in one long-poll answer or WebSocket frame' },
  maxCommandsPerRequest: {
    flag: 'max-commands-per-request',
    kind: 'int',
    describe: 'Most commands one create request may make (group targets count each member); larger ones are refused (400)',
  },
  requestTimeout: { flag: 'request-timeout', kind: 'duration', min: 1000, describe: 'How long a request (headers and body) may take to arrive before 408 and close' },
  maxUnauthenticatedPerAddress: {
    flag: 'max-unauthenticated-per-address',
    kind: 'int',
    describe: 'Most open connections per source address that have not yet presented valid credentials; past it, 429 and close',
  },
  authFailuresPerMinute: {
    flag: 'auth-failures-per-minute',
    kind: 'int',
    describe: 'Failed authentications allowed per source address, and per agent id, each minute; past it, 429 with a back-off that doubles',
  },
  workers: {
    flag: 'workers',
    kind: 'int',
    max: 64,
    describe:
      "Processes that serve agents' connections (TLS, HTTP, WebSocket frames, token checks): 1, courier's own; more, processes of their own handing what agents send to courier's one supervisor (default: the cores less one, at least 1)",
  },
  wsMaxInFlight: { flag: 'ws-max-in-flight', kind: 'int', describe: 'Most commands pushed to one WebSocket and not yet acked; past it, they wait' },
  wsMaxBufferedBytes: { flag: 'ws-max-buffered-bytes', kind: 'int', describe: 'Most bytes buffered for one WebSocket; past it, commands wait' },
  wsStallTimeout: {
    flag: 'ws-stall-timeout',
    kind: 'duration',
    describe: 'How long a WebSocket with bytes waiting, or at its in-flight bound, may go without progress before it is closed',
  },
  tlsCert: { flag: 'tls-cert', kind: 'string', describe: 'PEM certificate (chain) of both TCP listeners (default: one courier makes, signed by its own CA in <data-dir>/tls)' },
  tlsKey: { flag: 'tls-key', kind: 'string', describe: 'PEM private key of --tls-cert; both are read again on SIGHUP and when they change' },
  tokenKeys: {
    flag: 'token-keys',
    kind: 'string',
    describe: "Key set file that signs agent tokens, shared by every node of a cluster (default: this node's own key); read again on SIGHUP",
  },
  tlsClientCa: { flag: 'tls-client-ca', kind: 'string', describe: "PEM CA of agents' client certificates: mutual TLS on the agents API (a certificate must name its agent)" },
  tlsClientCaKey: {
    flag: 'tls-client-ca-key',
    kind: 'string',
    describe: 'Private key of --tls-client-ca: courier then signs the certificate requests agents send when they enroll',
  },
  tlsHosts: {
    flag: 'tls-hosts',
    kind: 'list',
    describe: 'More host names and addresses for the certificate courier makes (comma-separated; it always has this host, localhost, 127.0.0.1, ::1)',
  },
  insecureHttp: {
    flag: 'insecure-http',
    kind: 'boolean',
    describe: 'Serve plain HTTP on both TCP listeners (keys and tokens in clear text: for a trusted network only; warned on every start)',
  },
  opensearch: {
    flag: 'opensearch',
    env: 'COURIER_OPENSEARCH_URL',
    kind: 'url',
    describe: 'OpenSearch URL: keep commands in this cluster (default: the embedded SQLite store)',
  },
  advertiseUrl: {
    flag: 'advertise-url',
    kind: 'url',
    describe:
      "On a cluster: the URL other nodes reach this node's management API at (default: its scheme, host — this machine's name when it listens on every interface — and port)",
  },
  opensearchUsername: { flag: 'opensearch-username', kind: 'string', describe: 'OpenSearch basic-auth user' },
  opensearchPassword: { flag: 'opensearch-password', kind: 'string', describe: 'OpenSearch basic-auth password' },
  opensearchCa: { flag: 'opensearch-ca', kind: 'string', describe: "PEM file of the CA that signed the cluster's certificate" },
  opensearchSkipTlsVerify: { flag: 'opensearch-skip-tls-verify', kind: 'boolean', describe: 'Accept any TLS certificate from the cluster (testing only)' },
  opensearchIndexPrefix: { flag: 'opensearch-index-prefix', kind: 'string', describe: 'Prefix of every index courier uses (default: none)' },
  opensearchRequestTimeout: {
    flag: 'opensearch-request-timeout',
    kind: 'duration',
    min: 100,
    describe: 'How long one request to the cluster may take; a write not answered by then is of unknown outcome',
  },
  opensearchCommitInterval: {
    flag: 'opensearch-commit-interval',
    kind: 'duration',
    min: 1,
    max: 1000,
    describe: 'The least time between two commits to the cluster: the writes of this long go in one _bulk request (each request costs the cluster about as much as ten documents)',
  },
  pollInterval: { flag: 'poll-interval', kind: 'duration', min: 10, describe: 'How often the indexer poller tails wazuh-commands' },
  pollPageSize: { flag: 'poll-page-size', kind: 'int', max: 10_000, describe: 'Documents per page when the poller reads the index' },
  rescanInterval: { flag: 'rescan-interval', kind: 'duration', min: 100, describe: 'How often the poller re-scans pending, unclaimed and overdue commands' },
  claimLease: { flag: 'claim-lease', kind: 'duration', min: 1000, describe: 'How long a claim (sent) holds before another node may deliver again' },
  shutdownTimeout: {
    flag: 'shutdown-timeout',
    kind: 'duration',
    describe: 'How long a shutdown waits for store writes that keep failing; then courier exits non-zero (the rest is recovered on restart)',
  },
  inspect: { flag: 'inspect', kind: 'boolean', describe: 'Stream live actors to the Stately inspector (127.0.0.1 relay behind a token; off by default)' },
  inspectPort: { flag: 'inspect-port', kind: 'port', describe: 'Port of the inspector relay on 127.0.0.1' },
  plugin: {
    flag: 'plugin',
    kind: 'list',
    describe: 'Modules that add routes to the admin socket, each exporting `plugin` (a fastify plugin) and `prefix` (comma-separated; see docs/embedding.md)',
  },
} as const satisfies Record<string, OptionSpec>;

export type ConfigKey = keyof typeof OPTIONS;

export interface Config {
  host: string;
  port: number;
  managementHost: string;
  managementPort: number;
  dataDir: string;
  socket: string;
  /** ms */
  longPollTimeout: number;
  /** ms */
  executionTimeout: number;
  node: string;
  logLevel: string;
  /** auto: readable lines when stdout is a terminal, JSON lines otherwise (see logger.ts). */
  logFormat: 'auto' | 'json' | 'pretty';
  sync: 'normal' | 'full';
  bodyLimit: number;
  /** ms */
  wsPingInterval: number;
  maxCommandsPerDelivery: number;
  maxCommandsPerRequest: number;
  /** ms: a request must have fully arrived within this time. */
  requestTimeout: number;
  maxUnauthenticatedPerAddress: number;
  authFailuresPerMinute: number;
  /** Processes serving agents' connections: 1 is this one; more are connection workers (src/workers/). */
  workers: number;
  wsMaxInFlight: number;
  wsMaxBufferedBytes: number;
  /** ms */
  wsStallTimeout: number;
  /** Absolute paths of PEM files; both unset: courier makes its own CA and certificate. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tokenKeys: string | undefined;
  tlsClientCa: string | undefined;
  tlsClientCaKey: string | undefined;
  tlsHosts: string[];
  insecureHttp: boolean;
  /** Set: commands live in this OpenSearch cluster; unset: the embedded SQLite store. */
  opensearch: string | undefined;
  /** Where the other nodes of a cluster reach this node's management API; unset: derived from the listener. */
  advertiseUrl: string | undefined;
  opensearchUsername: string | undefined;
  opensearchPassword: string | undefined;
  /** Absolute path of a PEM file. */
  opensearchCa: string | undefined;
  opensearchSkipTlsVerify: boolean;
  opensearchIndexPrefix: string;
  opensearchRequestTimeout: number;
  opensearchCommitInterval: number;
  /** ms */
  pollInterval: number;
  pollPageSize: number;
  /** ms */
  rescanInterval: number;
  /** ms */
  claimLease: number;
  /** ms */
  shutdownTimeout: number;
  /** Serve the Stately inspector relay (loopback only, token-guarded). */
  inspect: boolean;
  inspectPort: number;
  /** Absolute paths of the plugin modules loaded at start (routes of their own on the admin socket). */
  plugin: string[];
}

/**
 * The default `--workers` on `cores` cores: one fewer, kept for courier's own process (the supervisor,
 * the store's writer), at least 1 (courier's process then serves the connections itself), at most the
 * option's bound.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return Math.min(OPTIONS.workers.max, Math.max(1, cores - 1));
}

const DEFAULTS: Omit<Config, 'socket' | 'dataDir' | 'node'> & { dataDir: string } = {
  host: '0.0.0.0',
  port: 27000,
  managementHost: '127.0.0.1',
  managementPort: 55000,
  dataDir: 'data',
  longPollTimeout: 300_000,
  executionTimeout: 600_000,
  logLevel: 'info',
  logFormat: 'auto',
  sync: 'normal',
  bodyLimit: 1_048_576,
  wsPingInterval: 30_000,
  maxCommandsPerDelivery: 100,
  maxCommandsPerRequest: 50_000,
  requestTimeout: 30_000,
  // Generous for many agents behind one NAT address reconnecting at once (each connection stops
  // counting at its first authenticated request), while one address holds at most 128 sockets.
  maxUnauthenticatedPerAddress: 128,
  // Far more than an agent or an operator with the right key ever fails, far too few to guess a key:
  // the 16th failure in a minute is refused, then the waits double up to 15 minutes.
  authFailuresPerMinute: 15,
  // Connections on every core but one, which the supervisor and the store keep for themselves.
  workers: defaultWorkers(),
  // An agent that reads acks each frame as it arrives and holds far less; a stuck socket costs at most
  // this much (its commands wait for the agent's other connections), and is closed after a minute.
  wsMaxInFlight: 1000,
  wsMaxBufferedBytes: 1_048_576,
  wsStallTimeout: 60_000,
  tlsCert: undefined,
  tlsKey: undefined,
  tokenKeys: undefined,
  tlsClientCa: undefined,
  tlsClientCaKey: undefined,
  tlsHosts: [],
  insecureHttp: false,
  opensearch: undefined,
  advertiseUrl: undefined,
  opensearchUsername: undefined,
  opensearchPassword: undefined,
  opensearchCa: undefined,
  opensearchSkipTlsVerify: false,
  opensearchIndexPrefix: '',
  opensearchRequestTimeout: 30_000,
  opensearchCommitInterval: 50,
  pollInterval: 1000,
  pollPageSize: 1000,
  rescanInterval: 30_000,
  claimLease: 60_000,
  shutdownTimeout: 30_000,
  inspect: false,
  inspectPort: 8087,
  plugin: [],
};

/** A raw value (flag, environment, file) made typed and checked against the option's bounds. */
function convert(key: ConfigKey, raw: unknown): unknown {
  return withinBounds(key, convertKind(OPTIONS[key].kind, raw));
}

function withinBounds(key: ConfigKey, value: unknown): unknown {
  const spec: OptionSpec = OPTIONS[key];
  if (spec.min !== undefined && typeof value === 'number' && value < spec.min) {
    throw new Error(`must be at least ${spec.kind === 'duration' ? `${spec.min} ms` : spec.min}`);
  }
  if (spec.max !== undefined && typeof value === 'number' && value > spec.max) throw new Error(`must be at most ${spec.max}`);
  return value;
}

/**
 * The default as `serve --help` shows it (durations in their largest whole unit, as they can be
 * written); null when there is none to show: unset, off, empty, or said by the description.
 */
export function defaultText(key: ConfigKey): string | null {
  const spec: OptionSpec = OPTIONS[key];
  const value = (DEFAULTS as Record<string, unknown>)[key];
  if (value === undefined || value === false || value === '' || (Array.isArray(value) && value.length === 0) || spec.describe.includes('(default')) return null;
  if (spec.kind === 'duration' && typeof value === 'number') return formatDuration(value);
  return Array.isArray(value) ? value.join(',') : typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

/** Throws an Error saying what is wrong with `text` as the value of option `key` (as a flag would give it). */
export function checkOptionText(key: ConfigKey, text: string): void {
  convert(key, text);
}

export function envName(key: ConfigKey): string {
  const spec: OptionSpec = OPTIONS[key];
  return spec.env ?? `COURIER_${spec.flag.replaceAll('-', '_').toUpperCase()}`;
}

/** The configuration as it may be logged: secrets masked. */
export function redactedConfig(config: Config): Config {
  return config.opensearchPassword === undefined ? config : { ...config, opensearchPassword: '[redacted]' };
}

export interface ConfigSources {
  /** Flag values as parsed from the command line (strings), keyed by config key. */
  flags?: Partial<Record<ConfigKey, string>>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON, or (`.yaml`, `.yml`) YAML, config file (keys as in `Config`). */
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
      const text = readFileSync(resolve(cwd, filePath), 'utf8');
      fromFile = (/\.ya?ml$/i.test(filePath) ? parseYaml(text) : JSON.parse(text)) as Record<string, unknown>;
    } catch (error) {
      throw errors.CONFIG.causedBy(error, `cannot read config file ${filePath}: ${(error as Error).message}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw errors.CONFIG(`${filePath} must hold an object (a mapping) of options`);
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
      throw errors.CONFIG.causedBy(error, `${origin}: ${(error as Error).message}`);
    }
  }

  return completed(values, cwd);
}

/** What a program embedding courier gives: any options, typed as in `Config`; the others take their defaults. */
export type ConfigInput = Partial<Config>;

/**
 * A configuration from typed values (a program embedding courier): each given option is checked as
 * a flag would be (its kind and bounds; durations in ms), every other one takes its default.
 * Neither the environment nor a file is read: they are the command line's sources.
 */
export function configFrom(input: ConfigInput, cwd = process.cwd()): Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw errors.CONFIG('expected an object of options');
  const values: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(input)) {
    if (!(key in OPTIONS)) throw errors.CONFIG(`unknown option "${key}"`);
    // The default itself stands (a whole configuration, defaults included, is taken as it is).
    if (value === undefined || value === (DEFAULTS as Record<string, unknown>)[key]) continue;
    try {
      values[key] = withinBounds(key as ConfigKey, checkTyped(OPTIONS[key as ConfigKey].kind, value));
    } catch (error) {
      throw errors.CONFIG.causedBy(error, `${key}: ${(error as Error).message}`);
    }
  }
  return completed(values, cwd);
}

/** The options' values made whole: paths absolute (from `cwd`), the socket and the node's name derived when not given. */
function completed(values: Record<string, unknown>, cwd: string): Config {
  const path = (value: unknown) => (value === undefined ? undefined : resolve(cwd, value as string));
  const dataDir = resolve(cwd, values.dataDir as string);
  return {
    ...(values as Omit<Config, 'dataDir' | 'socket' | 'node'>),
    dataDir,
    socket: resolve(cwd, (values.socket as string | undefined) ?? resolve(dataDir, 'courier.sock')),
    node: (values.node as string | undefined) ?? hostname(),
    opensearchCa: path(values.opensearchCa),
    tlsCert: path(values.tlsCert),
    tlsKey: path(values.tlsKey),
    tokenKeys: path(values.tokenKeys),
    tlsClientCa: path(values.tlsClientCa),
    tlsClientCaKey: path(values.tlsClientCaKey),
    plugin: (values.plugin as string[]).map((module) => resolve(cwd, module)),
  };
}
