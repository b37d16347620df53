import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { Connection, withConnectionOptions } from './connection.js';
import { printJson, shortTime, table } from './format.js';
import { collect, exits } from './usage.js';
import { durationOrNull } from '../domain/duration.js';

interface KeyView {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
  status?: 'active' | 'expired' | 'revoked';
  expires_at?: string | null;
  last_used_at?: string | null;
  key?: string;
}

const ROLES = ['admin', 'operator', 'auditor'] as const;

function keysTable(keys: KeyView[]): string {
  return table(
    ['id', 'name', 'role', 'scopes', 'status', 'created', 'expires', 'last used', 'revoked', ...(keys.some((k) => k.key) ? ['key (shown once)'] : [])],
    keys.map((k) => [
      k.id,
      k.name,
      k.role,
      k.scopes.join(' '),
      k.status ?? '',
      shortTime(k.created_at),
      k.expires_at ? shortTime(k.expires_at) : 'never',
      shortTime(k.last_used_at),
      shortTime(k.revoked_at),
      ...(k.key ? [k.key] : []),
    ]),
  );
}

/** `--expires 90d`: seconds from now. */
function expiresIn(text: string): number {
  const ms = /^\d+$/.test(text.trim()) ? null : durationOrNull(text);
  if (ms === null || ms < 1000) throw new InvalidArgumentError('Give a duration such as 12h, 30d or 90d (the key stops working then).');
  return Math.round(ms / 1000);
}

/** `courier keys create|list|revoke`: operator API keys, on the admin socket or (admin keys) the management API. */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('operator API keys for the management API (on the admin socket, or --url with an admin key)')
    .addHelpText('after', '\nScopes: agent:<id>, agent:<prefix>*, group:<name>, server:<module>, action:<name>. A new key is shown once.');

  withConnectionOptions(
    keys
      .command('create')
      .description('a new key, shown once')
      .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
      .option('--scope <pattern>', 'what the key reaches (repeatable; none: everything)', collect, [] as string[])
      .option('--name <name>', 'a name for the audit trail')
      .option('--expires <duration>', 'the key stops working after this long, e.g. 90d (default: never)', expiresIn),
  ).action(
    exits(async (options) => {
      const key = await Connection.from(options).ok<KeyView>('POST', '/api/v1/keys', {
        role: options.role,
        scopes: options.scope,
        ...(options.name ? { name: options.name } : {}),
        ...(options.expires !== undefined ? { expires_in: options.expires } : {}),
      });
      if (options.json) printJson(key);
      else console.log(keysTable([key]));
      return 0;
    }),
  );

  withConnectionOptions(keys.command('list').description('every key, revoked ones too')).action(
    exits(async (options) => {
      const { items } = await Connection.from(options).ok<{ items: KeyView[] }>('GET', '/api/v1/keys');
      if (options.json) printJson({ items });
      else console.log(keysTable(items));
      return 0;
    }),
  );

  withConnectionOptions(keys.command('revoke').description('a key stops working at once').argument('<id>', "the key's id (not the key)")).action(
    exits(async (id, options) => {
      const revoked = await Connection.from(options).ok<{ id: string }>('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
      if (options.json) printJson(revoked);
      else console.log(`revoked ${revoked.id}`);
      return 0;
    }),
  );
}
