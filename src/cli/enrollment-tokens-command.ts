import { parseArgs } from 'node:util';
import { badUsage } from './usage.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { printJson, shortTime, table } from './format.js';
import type { EnrollmentTokenView } from '../auth/enrollment-tokens.js';

const HELP = `Usage:
  courier enrollment-tokens create [--group <name>]... [--expires 24h|30m|720h|never] [--max-uses <n>]
  courier enrollment-tokens list
  courier enrollment-tokens revoke <id>
A token registers each host that presents it (courier agent --enroll <token> --key-file <path>) as an
agent in its groups. It expires after 24h unless --expires says otherwise; --max-uses caps how many
agents it enrolls. The token is shown once. On the management API, an admin key is needed.

${CONNECTION_HELP}`;

/** A token as the API shows it; `token` (the secret) only in the answer that created it. */
type TokenView = EnrollmentTokenView & { token?: string };

const VERBS = ['create', 'list', 'revoke'];

export async function runEnrollmentTokens(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, group: { type: 'string', multiple: true }, expires: { type: 'string' }, 'max-uses': { type: 'string' } },
  });
  const [verb, id] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!verb) return badUsage('enrollment-tokens', verb, VERBS, HELP);
  const connection = Connection.from(values);
  const show = (tokens: TokenView[]) =>
    console.log(
      table(
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
      ),
    );
  if (verb === 'create') {
    const maxUses = values['max-uses'];
    if (maxUses !== undefined && !/^[0-9]+$/.test(maxUses)) {
      console.error(`courier enrollment-tokens: --max-uses ${maxUses} is not a whole number`);
      return 2;
    }
    const token = await connection.ok<TokenView>('POST', '/api/v1/enrollment-tokens', {
      groups: values.group ?? [],
      ...(values.expires ? { expires_in: values.expires } : {}),
      ...(maxUses !== undefined ? { max_uses: Number(maxUses) } : {}),
    });
    if (values.json) printJson(token);
    else show([token]);
    return 0;
  }
  if (verb === 'list') {
    const { tokens } = await connection.ok<{ tokens: TokenView[] }>('GET', '/api/v1/enrollment-tokens');
    if (values.json) printJson({ tokens });
    else show(tokens);
    return 0;
  }
  if (verb === 'revoke' && id) {
    const revoked = await connection.ok<{ id: string }>('DELETE', `/api/v1/enrollment-tokens/${encodeURIComponent(id)}`);
    if (values.json) printJson(revoked);
    else console.log(`revoked ${revoked.id}`);
    return 0;
  }
  return badUsage('enrollment-tokens', verb, VERBS, HELP);
}
