import { parseArgs } from 'node:util';
import { badUsage } from './usage.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { printJson, shortTime, table } from './format.js';

const HELP = `Usage:
  courier agents add <id> [--group <name>]... [--agent-key <key>] [--name <name>] [--replace]
                                                              register an agent (a key is generated and shown once if none is given);
                                                              --replace registers an existing id again: its old key stops working
                                                              (agents usually register themselves: courier enrollment-tokens --help)
  courier agents show <id>
  courier agents remove <id>
  courier agents list [--limit n] [--cursor c]                 with connection state (management API or socket)

${CONNECTION_HELP}`;

const VERBS = ['add', 'show', 'remove', 'list'];

interface AgentView {
  id: string;
  name?: string | null;
  groups: string[];
  created_at: string;
  key?: string;
  connection?: string;
  node?: string | null;
  last_seen?: string | null;
}

export async function runAgents(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      group: { type: 'string', multiple: true },
      'agent-key': { type: 'string' },
      name: { type: 'string' },
      replace: { type: 'boolean', default: false },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
  });
  const [verb, id] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!verb || (verb !== 'list' && !id)) return badUsage('agents', verb, VERBS, HELP);
  const connection = Connection.from(values);
  const path = `/api/v1/agents/${encodeURIComponent(id ?? '')}`;
  const show = (agents: AgentView[]) =>
    console.log(
      table(
        [
          'id',
          'name',
          'groups',
          'created',
          ...(agents.some((a) => a.connection) ? ['connection', 'node', 'last seen'] : []),
          ...(agents.some((a) => a.key) ? ['key (shown once)'] : []),
        ],
        agents.map((a) => [
          a.id,
          a.name ?? '',
          a.groups.join(','),
          shortTime(a.created_at),
          ...(a.connection ? [a.connection, a.node ?? '', shortTime(a.last_seen)] : []),
          ...(a.key ? [a.key] : []),
        ]),
      ),
    );
  switch (verb) {
    case 'add': {
      const agent = await connection.ok<AgentView>('POST', '/api/v1/agents', {
        id,
        groups: values.group ?? [],
        ...(values['agent-key'] ? { key: values['agent-key'] } : {}),
        ...(values.name ? { name: values.name } : {}),
        ...(values.replace ? { replace: true } : {}),
      });
      if (values.json) printJson(agent);
      else show([agent]);
      return 0;
    }
    case 'show': {
      const agent = await connection.ok<AgentView>('GET', path);
      if (values.json) printJson(agent);
      else show([agent]);
      return 0;
    }
    case 'remove': {
      const removed = await connection.ok<{ id: string }>('DELETE', path);
      if (values.json) printJson(removed);
      else console.log(`removed ${removed.id}`);
      return 0;
    }
    case 'list': {
      const query = new URLSearchParams({ limit: values.limit ?? '100', ...(values.cursor ? { cursor: values.cursor } : {}) });
      const page = await connection.ok<{ items: AgentView[]; next: string | null }>('GET', `/api/v1/agents?${query}`);
      if (values.json) printJson(page);
      else {
        show(page.items);
        if (page.next) console.log(`more: --cursor ${page.next}`);
      }
      return 0;
    }
    default:
      return badUsage('agents', verb, VERBS, HELP);
  }
}
