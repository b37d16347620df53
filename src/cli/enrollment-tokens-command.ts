import type { Command } from '@commander-js/extra-typings';
import { Connection, withConnectionOptions } from './connection.js';
import { printJson, shortTime, table } from './format.js';
import { collect, exits, wholeNumberOf } from './usage.js';
import type { EnrollmentTokenView } from '../auth/enrollment-tokens.js';

/** A token as the API shows it; `token` (the secret) only in the answer that created it. */
type TokenView = EnrollmentTokenView & { token?: string };

function tokensTable(tokens: TokenView[]): string {
  return table(
    ['id', 'groups', 'status', 'uses', 'expires', 'created', 'by', ...(tokens.some((t) => t.token) ? ['token (shown once)'] : [])],
    tokens.map((t) => [
      t.id,
      t.groups.join(','),
      t.status,
      t.max_uses === null ? String(t.uses) : `${t.uses}/${t.max_uses}`,
      t.expires_at === null ? 'never' : shortTime(t.expires_at),
      shortTime(t.created_at),
      t.created_by,
      ...(t.token ? [t.token] : []),
    ]),
  );
}

/** `courier enrollment-tokens create|list|revoke`. */
export function registerEnrollmentTokens(program: Command): void {
  const tokens = program
    .command('enrollment-tokens')
    .description('tokens with which agents register themselves (courier agent --enroll)')
    .addHelpText(
      'after',
      '\nA token registers each host that presents it (courier agent --enroll <token> --key-file <path>) as an agent in its groups.\nOn the management API, an admin key is needed. The token is shown once.',
    );

  withConnectionOptions(
    tokens
      .command('create')
      .description('a new token, shown once')
      .option('--group <name>', 'a group of the agents it enrolls (repeatable)', collect, [] as string[])
      .option('--expires <duration>', 'how long it enrolls agents: e.g. 30m, 24h, 720h, or never (default: 24h)')
      .option('--max-uses <n>', 'how many agents it may enroll (default: no limit)', wholeNumberOf('agents', 1)),
  ).action(
    exits(async (options) => {
      const token = await Connection.from(options).ok<TokenView>('POST', '/api/v1/enrollment-tokens', {
        groups: options.group,
        ...(options.expires !== undefined ? { expires_in: options.expires } : {}),
        ...(options.maxUses !== undefined ? { max_uses: options.maxUses } : {}),
      });
      if (options.json) printJson(token);
      else console.log(tokensTable([token]));
      return 0;
    }),
  );

  withConnectionOptions(tokens.command('list').description('every token, with its status and uses')).action(
    exits(async (options) => {
      const { tokens: listed } = await Connection.from(options).ok<{ tokens: TokenView[] }>('GET', '/api/v1/enrollment-tokens');
      if (options.json) printJson({ tokens: listed });
      else console.log(tokensTable(listed));
      return 0;
    }),
  );

  withConnectionOptions(tokens.command('revoke').description('the token enrolls no more agents (those it enrolled stay)').argument('<id>', "the token's id")).action(
    exits(async (id, options) => {
      const revoked = await Connection.from(options).ok<{ id: string }>('DELETE', `/api/v1/enrollment-tokens/${encodeURIComponent(id)}`);
      if (options.json) printJson(revoked);
      else console.log(`revoked ${revoked.id}`);
      return 0;
    }),
  );
}
