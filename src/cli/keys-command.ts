import { parseArgs } from 'node:util';
import { badUsage } from './usage.js';
import { CONNECTION_OPTIONS, Connection } from './connection.js';
import { printJson, shortTime, table } from './format.js';

const HELP = `Usage:
  courier keys create --role admin|operator|auditor [--scope <pattern>]... [--name <name>]
  courier keys list
  courier keys revoke <id>
Scopes: agent:<id>, agent:<prefix>*, group:<name>, server:<module>, action:<name>.
Keys are managed on the local admin socket only (--socket <path> | --data-dir <dir>); a new key is shown once.`;

interface KeyView {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
  key?: string;
}

const VERBS = ['create', 'list', 'revoke'];

export async function runKeys(args: string[]): Promise<number> {
  const { socket, 'data-dir': dataDir, json, help } = CONNECTION_OPTIONS;
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { socket, 'data-dir': dataDir, json, help, role: { type: 'string' }, scope: { type: 'string', multiple: true }, name: { type: 'string' } },
  });
  const [verb, id] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!verb) return badUsage('keys', verb, VERBS, HELP);
  const connection = Connection.from({ socket: values.socket, 'data-dir': values['data-dir'] }, { ...process.env, COURIER_URL: '' });
  const show = (keys: KeyView[]) =>
    console.log(
      table(
        ['id', 'name', 'role', 'scopes', 'created', 'revoked', ...(keys.some((k) => k.key) ? ['key (shown once)'] : [])],
        keys.map((k) => [k.id, k.name, k.role, k.scopes.join(' '), shortTime(k.created_at), shortTime(k.revoked_at), ...(k.key ? [k.key] : [])]),
      ),
    );
  if (verb === 'create' && values.role) {
    const key = await connection.ok<KeyView>('POST', '/api/v1/keys', { role: values.role, scopes: values.scope ?? [], ...(values.name ? { name: values.name } : {}) });
    if (values.json) printJson(key);
    else show([key]);
    return 0;
  }
  if (verb === 'list') {
    const { items } = await connection.ok<{ items: KeyView[] }>('GET', '/api/v1/keys');
    if (values.json) printJson({ items });
    else show(items);
    return 0;
  }
  if (verb === 'revoke' && id) {
    const revoked = await connection.ok<{ id: string }>('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
    if (values.json) printJson(revoked);
    else console.log(`revoked ${revoked.id}`);
    return 0;
  }
  return badUsage('keys', verb, VERBS, HELP);
}
