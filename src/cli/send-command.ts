import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { Connection, withConnectionOptions, type ConnectionValues } from './connection.js';
import { printJson } from './format.js';
import { commandsTable, type CommandView } from './views.js';
import { printSummary, type RequestSummary } from './requests-command.js';
import { FINAL_STATUSES } from '../domain/command.js';
import { exitCodeOf } from './exit-codes.js';
import { exits, timeoutSeconds, UsageError } from './usage.js';

interface SendOptions extends ConnectionValues {
  agent?: string | undefined;
  group?: string | undefined;
  server?: string | undefined;
  action: string;
  args?: unknown;
  version?: string | undefined;
  timeout: number;
  source: string;
  user?: string | undefined;
  wait?: true | undefined;
  json?: true | undefined;
}

/** The create's answer: whole documents, or (`abridged`) references to them. */
interface CreatedCommands {
  commands: (CommandView | { document_id: string; request_id: string })[];
  total: number;
  abridged: boolean;
}

/** `--args`: the action's arguments, a JSON value. */
function jsonArgs(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`It is not JSON: ${(error as Error).message}.`);
  }
}

const TARGETS = ['agent', 'group', 'server'] as const;

/** `courier send`. */
export function registerSend(program: Command): void {
  withConnectionOptions(
    program
      .command('send')
      .description('send a command to an agent, a group or a server component (--wait: follow it to its end)')
      .addOption(new Option('--agent <id>', 'to this agent').conflicts(['group', 'server']))
      .addOption(new Option('--group <name>', 'to every agent of this group').conflicts(['agent', 'server']))
      .addOption(new Option('--server <module>', 'to a server component (it long-polls the admin socket)').conflicts(['agent', 'group']))
      .requiredOption('--action <name>', 'the action, e.g. restart, set-group, fetch-config')
      .option('--args <json>', 'the action\'s arguments, e.g. \'{"groups":["linux"]}\' (default {})', jsonArgs)
      .option('--version <v>', "the action's version, e.g. 5.0.0")
      .option('--timeout <seconds>', 'seconds within which it must be delivered', timeoutSeconds, 100)
      .option('--source <name>', 'who sends it, as Wazuh names it', 'Users/Services')
      .option('--user <name>', "who asks (on the management API, the key's name is recorded instead)")
      .option(
        '--wait',
        'follow the commands until every one has ended (a progress bar on a terminal), print the summary, and exit 0 when all succeeded, else 3 (one failed), 4 (one timed out) or 5 (one was cancelled), the first that applies in that order',
      ),
  ).action(exits(async (options) => send(options)));
}

async function send(values: SendOptions): Promise<number> {
  const type = TARGETS.find((t) => values[t] !== undefined);
  if (!type) throw new UsageError('send', 'give a target: --agent, --group or --server');
  const command = {
    source: values.source,
    ...(values.user ? { user: values.user } : {}),
    target: { type, id: values[type] },
    action: { name: values.action, args: values.args ?? {}, ...(values.version ? { version: values.version } : {}) },
    timeout: values.timeout,
  };
  const connection = Connection.from(values);
  const created = await connection.ok<CreatedCommands>('POST', '/api/v1/commands', { commands: [command] });
  const requestId = created.commands[0]!.request_id;
  if (!values.wait) {
    if (values.json) printJson(created);
    // A large fan-out is answered with references: its summary says more than a table of thousands of rows.
    else if (created.abridged) console.log(`${created.total} commands created in request ${requestId}: courier requests show ${requestId}`);
    else console.log(commandsTable(created.commands as CommandView[]));
    return 0;
  }
  const summary = await waitForEnd(connection, requestId, created.total, !values.json);
  if (values.json) printJson(summary);
  else printSummary(summary);
  return exitCodeOf(summary.counts);
}

/** Follows a fan-out until every command has ended; a progress bar on a terminal. */
async function waitForEnd(connection: Connection, requestId: string, total: number, showBar: boolean): Promise<RequestSummary> {
  const bar = showBar
    ? new cliProgress.SingleBar(
        { format: 'running {bar} {value}/{total} ended | {pending} pending, {sent} sent, {delivered} delivered', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(total, 0, { pending: total, sent: 0, delivered: 0 });
  try {
    for (;;) {
      const summary = await connection.ok<RequestSummary>('GET', `/api/v1/requests/${encodeURIComponent(requestId)}?limit=1000`);
      let ended = 0;
      for (const status of FINAL_STATUSES) ended += summary.counts[status] ?? 0;
      bar?.update(ended, { pending: summary.counts.pending ?? 0, sent: summary.counts.sent ?? 0, delivered: summary.counts.delivered ?? 0 });
      if (ended === summary.total) return summary;
      await sleep(250);
    }
  } finally {
    bar?.stop();
  }
}
