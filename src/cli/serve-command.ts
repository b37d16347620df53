import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { KIND_CHOICES } from '../config-values.js';
import { checkOptionText, defaultText, envName, loadConfig, OPTIONS, redactedConfig, type ConfigKey } from '../config.js';
import { createCourier } from '../index.js';
import { createLogger } from '../logger.js';
import { CourierError, errors } from '../errors.js';
import { collect, exits } from './usage.js';

/** `courier serve`: its options are the configuration's (src/config.ts), each with its variable and default. */
export function registerServe(program: Command): void {
  const serve = program
    .command('serve')
    .description('run a courier node (agents API, management API, admin Unix socket)')
    .addHelpText(
      'after',
      `
Runs a courier node, on the embedded store or (--opensearch) on an OpenSearch cluster. Each option can
also be set in the environment (shown) or in a JSON or YAML file given with --config, under the name
in docs/configuration.md. Precedence: flag > environment > file > default.`,
    );
  const attributes: [ConfigKey, string][] = [];
  for (const key of Object.keys(OPTIONS) as ConfigKey[]) {
    const spec = OPTIONS[key];
    const shown = defaultText(key);
    // Typed as string: a template of the flags' literal types would make commander's typings infer every combination.
    const flags: string = `--${spec.flag}${spec.kind === 'boolean' ? '' : ` <${valueName(spec.kind)}>`}`;
    const option = new Option(flags, `${spec.describe} [${envName(key)}]${shown === null ? '' : ` (default: ${shown})`}`);
    // Checked as the flag is parsed, so that commander names it (exit code 2): a list may be given as
    // a,b or by repeating the flag (--plugin a.js --plugin b.js); a fixed set of values is a choice.
    if (spec.kind === 'list') option.argParser(collect);
    else if (spec.kind in KIND_CHOICES) option.choices(KIND_CHOICES[spec.kind as keyof typeof KIND_CHOICES]);
    else if (spec.kind !== 'boolean') option.argParser((text) => checkedText(key, text));
    serve.addOption(option);
    attributes.push([key, option.attributeName()]);
  }
  serve.option('--config <file>', 'JSON or YAML config file [COURIER_CONFIG]');
  serve.action(
    exits(async () => {
      const values = serve.opts() as Record<string, string | string[] | boolean | undefined>;
      const flags: Partial<Record<ConfigKey, string>> = {};
      for (const [key, attribute] of attributes) {
        const value = values[attribute];
        if (typeof value === 'string') flags[key] = value;
        else if (Array.isArray(value)) flags[key] = value.join(',');
        else if (value === true) flags[key] = 'true'; // a bare boolean flag such as --inspect
      }
      return runServe(flags, typeof values.config === 'string' ? values.config : undefined);
    }),
  );
}

function checkedText(key: ConfigKey, text: string): string {
  try {
    checkOptionText(key, text);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
  return text;
}

function valueName(kind: string): string {
  return { duration: 'duration', port: 'port', int: 'n', url: 'url', list: 'a,b', logLevel: 'level', sync: 'mode' }[kind] ?? 'value';
}

async function runServe(flags: Partial<Record<ConfigKey, string>>, file: string | undefined): Promise<number> {
  const config = loadConfig({ flags, ...(file !== undefined ? { file } : {}) });
  const logger = createLogger(config);
  logger.info({ config: redactedConfig(config) }, 'configuration');
  const courier = await createCourier(config, { logger });
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
      void courier.close().then(
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
