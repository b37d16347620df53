import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { Connection, withConnectionOptions } from './connection.js';
import { printJson, shortTime, table } from './format.js';
import { collect, exits, UsageError, wholeNumberOf } from './usage.js';

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

function agentsTable(agents: AgentView[]): string {
  return table(
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
  );
}

const agentPath = (id: string) => `/api/v1/agents/${encodeURIComponent(id)}`;

/**
 * A page of up to `limit` agents. Filtered by connection state (known at run time, not in the store),
 * one answer may hold fewer with more to come: the next are read until the page is full or none is left.
 */
async function agentsPage(connection: Connection, query: URLSearchParams, limit: number, cursor: string | undefined): Promise<{ items: AgentView[]; next: string | null }> {
  const items: AgentView[] = [];
  let next = cursor ?? null;
  do {
    if (next !== null) query.set('cursor', next);
    query.set('limit', String(limit - items.length));
    const page = await connection.ok<{ items: AgentView[]; next: string | null }>('GET', `/api/v1/agents?${query}`);
    items.push(...page.items);
    next = page.next;
  } while (next !== null && items.length < limit);
  return { items, next };
}

/** `courier agents add|show|remove|list|set-groups`. */
export function registerAgents(program: Command): void {
  const agents = program.command('agents').description('manage registered agents');

  withConnectionOptions(
    agents
      .command('add')
      .description('register an agent; a key is generated and shown once if none is given (agents usually register themselves: courier enrollment-tokens --help)')
      .argument('<id>', 'the agent id')
      .option('--group <name>', 'a group of the agent (repeatable)', collect, [] as string[])
      .option('--agent-key <key>', "the agent's own secret (default: a generated one)")
      .option('--name <name>', 'a name shown beside the id')
      .option('--replace', 'register an existing id again: its old key stops working'),
  ).action(
    exits(async (id, options) => {
      const agent = await Connection.from(options).ok<AgentView>('POST', '/api/v1/agents', {
        id,
        groups: options.group,
        ...(options.agentKey ? { key: options.agentKey } : {}),
        ...(options.name ? { name: options.name } : {}),
        ...(options.replace ? { replace: true } : {}),
      });
      if (options.json) printJson(agent);
      else console.log(agentsTable([agent]));
      return 0;
    }),
  );

  withConnectionOptions(agents.command('show').description('one agent').argument('<id>', 'the agent id')).action(
    exits(async (id, options) => {
      const agent = await Connection.from(options).ok<AgentView>('GET', agentPath(id));
      if (options.json) printJson(agent);
      else console.log(agentsTable([agent]));
      return 0;
    }),
  );

  withConnectionOptions(agents.command('remove').description('remove an agent: its key and tokens stop working').argument('<id>', 'the agent id')).action(
    exits(async (id, options) => {
      const removed = await Connection.from(options).ok<{ id: string }>('DELETE', agentPath(id));
      if (options.json) printJson(removed);
      else console.log(`removed ${removed.id}`);
      return 0;
    }),
  );

  withConnectionOptions(
    agents
      .command('set-groups')
      .description("replace an agent's groups (audited; a successful set-group command does the same)")
      .argument('<id>', 'the agent id')
      .option('--group <name>', 'a group the agent is to be in (repeatable)', collect, [] as string[])
      .addOption(new Option('--none', 'in no group at all').conflicts('group')),
  ).action(
    exits(async (id, options) => {
      if (options.group.length === 0 && !options.none) throw new UsageError('agents set-groups', 'give the groups (--group <name>, repeatable), or --none to leave every group');
      const agent = await Connection.from(options).ok<AgentView>('PUT', `${agentPath(id)}/groups`, { groups: options.group });
      if (options.json) printJson(agent);
      else console.log(agentsTable([agent]));
      return 0;
    }),
  );

  withConnectionOptions(
    agents
      .command('list')
      .description('agents with their connection state, a page at a time')
      .option('--group <name>', 'only the agents in this group')
      .addOption(
        new Option('--state <state>', 'only the agents connected now (by either transport, or by this one), or offline').choices([
          'connected',
          'offline',
          'websocket',
          'long-poll',
        ] as const),
      )
      .option('--prefix <text>', 'only the agents whose id or name starts with this')
      .option('--limit <n>', 'agents per page', wholeNumberOf('agents', 1, 1000), 100)
      .option('--cursor <c>', 'the next page, as the previous one printed it'),
  ).action(
    exits(async (options) => {
      const query = new URLSearchParams({ limit: String(options.limit) });
      if (options.group) query.set('group', options.group);
      if (options.state) query.set('connection', options.state);
      if (options.prefix) query.set('q', options.prefix);
      const page = await agentsPage(Connection.from(options), query, options.limit, options.cursor);
      if (options.json) printJson(page);
      else {
        console.log(agentsTable(page.items));
        if (page.next) console.log(`more: --cursor ${page.next}`);
      }
      return 0;
    }),
  );
}
