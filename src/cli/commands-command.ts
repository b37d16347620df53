import type { Command } from '@commander-js/extra-typings';
import { Connection, withConnectionOptions } from './connection.js';
import { COMMAND_FILTERS, filterQuery, withCommandFilters } from './filters.js';
import { printJson } from './format.js';
import { exits, wholeNumberOf } from './usage.js';
import { commandsTable, historyTable, type CommandView, type HistoryEvent } from './views.js';

const commandPath = (id: string) => `/api/v1/commands/${encodeURIComponent(id)}`;

/** What `commands show|history|cancel` do, also reachable as `courier show|history|cancel`. */
const ONE_COMMAND = {
  show: {
    describe: 'a command, its status and result',
    run: async (connection: Connection, id: string, json: boolean) => {
      const command = await connection.ok<CommandView>('GET', commandPath(id));
      if (json) printJson(command);
      else console.log(commandsTable([command]));
    },
  },
  history: {
    describe: "a command's every transition: from, to, cause, time, node, actor",
    run: async (connection: Connection, id: string, json: boolean) => {
      const history = await connection.ok<{ events: HistoryEvent[] }>('GET', `${commandPath(id)}/history`);
      if (json) printJson(history);
      else console.log(historyTable(history.events));
    },
  },
  cancel: {
    describe: 'cancel a command not yet delivered',
    run: async (connection: Connection, id: string, json: boolean) => {
      const command = await connection.ok<CommandView>('POST', `${commandPath(id)}/cancel`);
      if (json) printJson(command);
      else console.log(commandsTable([command]));
    },
  },
} as const;

function registerOneCommand(parent: Command, verb: keyof typeof ONE_COMMAND, describe: string): void {
  withConnectionOptions(parent.command(verb).description(describe).argument('<document_id>', "the command's id")).action(
    exits(async (id, options) => {
      await ONE_COMMAND[verb].run(Connection.from(options), id, options.json === true);
      return 0;
    }),
  );
}

/** `courier commands list|show|history|cancel`, and the short forms `courier show|history|cancel`. */
export function registerCommands(program: Command): void {
  const commands = program.command('commands').description('list commands, and show, follow or cancel one');
  withConnectionOptions(
    withCommandFilters(commands.command('list').description('commands, newest first, a page at a time'))
      .option('--limit <n>', 'commands per page', wholeNumberOf('commands', 1, 1000), 50)
      .option('--cursor <c>', 'the next page, as the previous one printed it'),
  ).action(
    exits(async (options) => {
      const query = filterQuery(COMMAND_FILTERS, options);
      query.set('limit', String(options.limit));
      if (options.cursor) query.set('cursor', options.cursor);
      const page = await Connection.from(options).ok<{ items: CommandView[]; next: string | null }>('GET', `/api/v1/commands?${query}`);
      if (options.json) printJson(page);
      else {
        console.log(commandsTable(page.items));
        if (page.next) console.log(`more: --cursor ${page.next}`);
      }
      return 0;
    }),
  );
  for (const verb of ['show', 'history', 'cancel'] as const) {
    registerOneCommand(commands, verb, ONE_COMMAND[verb].describe);
    registerOneCommand(program, verb, `short for "courier commands ${verb}": ${ONE_COMMAND[verb].describe}`);
  }
}
