import { parseArgs } from 'node:util';
import { badUsage } from './usage.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { COMMAND_FILTERS, filterOptions, filterQuery } from './filters.js';
import { printJson } from './format.js';
import { commandsTable, historyTable, type CommandView, type HistoryEvent } from './views.js';

const HELP = `Usage:
  courier commands list [--status s[,s]] [--agent id] [--target-type t --target-id id] [--action a]
                        [--request id] [--from time] [--to time] [--limit n] [--cursor c]
  courier commands show <document_id>       a command, its status and result
  courier commands history <document_id>    every transition: from, to, cause, time, node, actor
  courier commands cancel <document_id>     cancel a command not yet delivered

${CONNECTION_HELP}`;

const VERBS = ['list', 'show', 'history', 'cancel'];

export async function runCommands(args: string[], verbOverride?: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, ...filterOptions(COMMAND_FILTERS), limit: { type: 'string' }, cursor: { type: 'string' } },
  });
  const verb = verbOverride ?? positionals.shift();
  const [id] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!verb || (verb !== 'list' && !id)) return badUsage('commands', verb, VERBS, HELP);
  const connection = Connection.from(values);
  const base = `/api/v1/commands/${encodeURIComponent(id ?? '')}`;
  switch (verb) {
    case 'list': {
      const query = filterQuery(COMMAND_FILTERS, values);
      query.set('limit', typeof values.limit === 'string' ? values.limit : '50');
      if (typeof values.cursor === 'string') query.set('cursor', values.cursor);
      const page = await connection.ok<{ items: CommandView[]; next: string | null }>('GET', `/api/v1/commands?${query}`);
      if (values.json) printJson(page);
      else {
        console.log(commandsTable(page.items));
        if (page.next) console.log(`more: --cursor ${page.next}`);
      }
      return 0;
    }
    case 'show': {
      const command = await connection.ok<CommandView>('GET', base);
      if (values.json) printJson(command);
      else console.log(commandsTable([command]));
      return 0;
    }
    case 'history': {
      const history = await connection.ok<{ events: HistoryEvent[] }>('GET', `${base}/history`);
      if (values.json) printJson(history);
      else console.log(historyTable(history.events));
      return 0;
    }
    case 'cancel': {
      const command = await connection.ok<CommandView>('POST', `${base}/cancel`);
      if (values.json) printJson(command);
      else console.log(commandsTable([command]));
      return 0;
    }
    default:
      return badUsage('commands', verb, VERBS, HELP);
  }
}
