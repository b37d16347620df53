import { parseArgs } from 'node:util';
import { envName, loadConfig, OPTIONS, redactedConfig, type ConfigKey } from '../config.js';
import { startCourier } from '../courier.js';
import { createLogger } from '../logger.js';
import { CourierError, errors } from '../errors.js';

/** Width of the flag column: the longest flag and two spaces. */
const FLAG_WIDTH = Math.max(...Object.values(OPTIONS).map((o) => `--${o.flag}`.length)) + 2;

export const SERVE_HELP = `Usage: courier serve [options]

Runs a courier node, on the embedded store or (--opensearch) on an OpenSearch
cluster. Each option can also be set in the
environment (shown) or in a JSON file given with --config (COURIER_CONFIG).
Precedence: flag > environment > file > default.

Options:
${(Object.keys(OPTIONS) as ConfigKey[]).map((key) => `  ${`--${OPTIONS[key].flag}`.padEnd(FLAG_WIDTH)}${OPTIONS[key].describe} [${envName(key)}]`).join('\n')}
  ${'--config <file>'.padEnd(FLAG_WIDTH)}JSON config file [COURIER_CONFIG]
  ${'-h, --help'.padEnd(FLAG_WIDTH)}this help`;

export async function runServe(args: string[]): Promise<number> {
  const options = Object.fromEntries(
    (Object.keys(OPTIONS) as ConfigKey[]).map((key) => [OPTIONS[key].flag, { type: OPTIONS[key].kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  );
  const { values } = parseArgs({ args, options: { ...options, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const key of Object.keys(OPTIONS) as ConfigKey[]) {
    const value = (values as Record<string, string | boolean | undefined>)[OPTIONS[key].flag];
    if (typeof value === 'string') flags[key] = value;
    else if (value === true) flags[key] = 'true'; // a bare boolean flag such as --inspect
  }
  const config = loadConfig({ flags, ...(typeof values.config === 'string' ? { file: values.config } : {}) });
  const logger = createLogger(config);
  logger.info({ config: redactedConfig(config) }, 'configuration');
  const courier = await startCourier(config, { logger });
  process.stderr.write(`courier: web console: ${courier.managementUrl}/console (sign in with an API key: courier keys create --role admin|operator|auditor)\n`);
  if (courier.inspector) process.stderr.write(`courier: Stately inspector: open ${courier.inspector.url}\n`);
  if (courier.tls) {
    const pin = courier.tls.caFile ? `--ca ${courier.tls.caFile}, or ` : '';
    process.stderr.write(`courier: serving TLS on ${courier.url} and ${courier.managementUrl}; clients verify it with ${pin}--ca-fingerprint ${courier.tls.caFingerprint}\n`);
  } else {
    process.stderr.write('courier: WARNING: --insecure-http: agent keys, tokens and API keys cross the network in clear text\n');
  }
  // SIGHUP: read the TLS certificate files again (after a renewal; open connections keep theirs) and the token key set.
  process.on('SIGHUP', () => {
    void courier.reloadTls().catch(() => {});
    void courier.reloadTokenKeys().catch(() => {});
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      // A second signal does not wait for the first shutdown: what is not written is recovered on restart.
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting for the shutdown');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, deadlineMs: config.shutdownTimeout }, 'shutting down');
      void courier.stop().then(
        () => resolve(0),
        (err: unknown) => {
          // Already logged with what was not written, when it is the deadline.
          if (!(err instanceof CourierError && err.code === errors.SHUTDOWN_TIMEOUT.code)) logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}
