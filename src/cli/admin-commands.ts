import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { requestJson, type JsonResponse } from '../http-client.js';

/**
 * The admin commands: each talks to a running courier over its Unix socket
 * (`--socket`, or `<--data-dir>/courier.sock`, or COURIER_SOCKET / COURIER_DATA_DIR).
 */
const SOCKET_OPTIONS = {
  socket: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function socketPath(values: { socket?: string | boolean; 'data-dir'?: string | boolean }): string {
  const flags: { socket?: string; dataDir?: string } = {};
  if (typeof values.socket === 'string') flags.socket = values.socket;
  if (typeof values['data-dir'] === 'string') flags.dataDir = values['data-dir'];
  return loadConfig({ flags }).socket;
}

/** Prints the answer; a non-2xx answer goes to stderr and makes the exit code 1. */
function print(res: JsonResponse): number {
  const text = JSON.stringify(res.body, null, 2);
  if (res.status >= 200 && res.status < 300) {
    console.log(text);
    return 0;
  }
  console.error(`courier: ${res.status} ${text}`);
  return 1;
}

function call(socket: string, method: string, path: string, body?: unknown) {
  return requestJson({ socketPath: socket, method, path, ...(body !== undefined ? { body } : {}) });
}

const AGENTS_HELP = `Usage:
  courier agents add <id> [--group <name>]... [--key <key>]   register an agent (a key is generated if none is given, and shown once)
  courier agents show <id>
  courier agents remove <id>
Options: --socket <path> | --data-dir <dir>`;

async function agents(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...SOCKET_OPTIONS, group: { type: 'string', multiple: true }, key: { type: 'string' } },
  });
  const [verb, id] = positionals;
  if (values.help || !verb || !id) {
    console.log(AGENTS_HELP);
    return values.help ? 0 : 2;
  }
  const socket = socketPath(values);
  const path = `/api/v1/agents/${encodeURIComponent(id)}`;
  switch (verb) {
    case 'add':
      return print(await call(socket, 'POST', '/api/v1/agents', { id, groups: values.group ?? [], ...(values.key ? { key: values.key } : {}) }));
    case 'show':
      return print(await call(socket, 'GET', path));
    case 'remove':
      return print(await call(socket, 'DELETE', path));
    default:
      console.error(AGENTS_HELP);
      return 2;
  }
}

const SEND_HELP = `Usage: courier send (--agent <id> | --group <name> | --server <module>) --action <name> [options]
Options:
  --args <json>       action arguments, e.g. '{"groups":["linux"]}' (default {})
  --version <v>       action version (e.g. 5.0.0)
  --timeout <s>       seconds within which it must be delivered (default 100)
  --source <name>     default "Users/Services"
  --user <name>       who asks (recorded in the audit trail)
  --socket <path> | --data-dir <dir>`;

async function send(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...SOCKET_OPTIONS,
      agent: { type: 'string' },
      group: { type: 'string' },
      server: { type: 'string' },
      action: { type: 'string' },
      args: { type: 'string' },
      version: { type: 'string' },
      timeout: { type: 'string', default: '100' },
      source: { type: 'string', default: 'Users/Services' },
      user: { type: 'string' },
    },
  });
  const targets = (['agent', 'group', 'server'] as const).filter((t) => values[t] !== undefined);
  if (values.help || targets.length !== 1 || !values.action) {
    console.log(SEND_HELP);
    return values.help ? 0 : 2;
  }
  let actionArgs: unknown = {};
  if (values.args !== undefined) {
    try {
      actionArgs = JSON.parse(values.args);
    } catch (error) {
      console.error(`courier: --args is not JSON: ${(error as Error).message}`);
      return 2;
    }
  }
  const type = targets[0]!;
  const command = {
    source: values.source,
    ...(values.user ? { user: values.user } : {}),
    target: { type, id: values[type] },
    action: { name: values.action, args: actionArgs, ...(values.version ? { version: values.version } : {}) },
    timeout: Number(values.timeout),
  };
  return print(await call(socketPath(values), 'POST', '/api/v1/commands', { commands: [command] }));
}

function byDocumentId(verb: 'show' | 'history' | 'cancel') {
  return async (args: string[]): Promise<number> => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: SOCKET_OPTIONS });
    const [id] = positionals;
    if (values.help || !id) {
      console.log(`Usage: courier ${verb} <document_id> [--socket <path> | --data-dir <dir>]`);
      return values.help ? 0 : 2;
    }
    const base = `/api/v1/commands/${encodeURIComponent(id)}`;
    const socket = socketPath(values);
    if (verb === 'show') return print(await call(socket, 'GET', base));
    if (verb === 'history') return print(await call(socket, 'GET', `${base}/history`));
    return print(await call(socket, 'POST', `${base}/cancel`));
  };
}

export const ADMIN_COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  agents,
  send,
  show: byDocumentId('show'),
  history: byDocumentId('history'),
  cancel: byDocumentId('cancel'),
};
