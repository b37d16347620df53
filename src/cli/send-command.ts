import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { printJson } from './format.js';
import { commandsTable, type CommandView } from './views.js';
import { printSummary, type RequestSummary } from './requests-command.js';
import { FINAL_STATUSES } from '../domain/command.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { MAX_TIMEOUT_S, wholeNumber } from './usage.js';

const HELP = `Usage: courier send (--agent <id> | --group <name> | --server <module>) --action <name> [options]
Options:
  --args <json>       action arguments, e.g. '{"groups":["linux"]}' (default {})
  --version <v>       action version (e.g. 5.0.0)
  --timeout <s>       seconds within which it must be delivered (default 100)
  --source <name>     default "Users/Services"
  --user <name>       who asks (on the management API, the key's name is recorded instead)
  --wait              follow the commands until every one has ended (a progress bar on a terminal), print the
                      summary, and exit with 0 when all succeeded, else 3 (one failed), 4 (one timed out)
                      or 5 (one was cancelled), the first that applies in that order

${CONNECTION_HELP}`;

/** The create's answer: whole documents, or (`abridged`) references to them. */
interface CreatedCommands {
  commands: (CommandView | { document_id: string; request_id: string })[];
  total: number;
  abridged: boolean;
}

export async function runSend(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...CONNECTION_OPTIONS,
      agent: { type: 'string' },
      group: { type: 'string' },
      server: { type: 'string' },
      action: { type: 'string' },
      args: { type: 'string' },
      version: { type: 'string' },
      timeout: { type: 'string', default: '100' },
      source: { type: 'string', default: 'Users/Services' },
      user: { type: 'string' },
      wait: { type: 'boolean', default: false },
    },
  });
  const targets = (['agent', 'group', 'server'] as const).filter((t) => values[t] !== undefined);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (targets.length !== 1 || !values.action) {
    const why =
      targets.length > 1 ? `one target only, not ${targets.map((t) => `--${t}`).join(' and ')}` : targets.length === 0 ? 'a target: --agent, --group or --server' : '--action';
    console.error(`courier send: give ${why}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  let actionArgs: unknown = {};
  if (values.args !== undefined) {
    try {
      actionArgs = JSON.parse(values.args);
    } catch (error) {
      console.error(`courier: --args is not JSON: ${(error as Error).message}`);
      return EXIT.USAGE;
    }
  }
  // Named by its flag, not as the API's `body.commands.0.timeout` would name it.
  const timeout = wholeNumber(values.timeout, 1, MAX_TIMEOUT_S);
  if (timeout === null) {
    console.error(`courier send: --timeout must be a whole number of seconds from 1 to ${MAX_TIMEOUT_S} (30 days), not "${values.timeout}"`);
    return EXIT.USAGE;
  }
  const type = targets[0]!;
  const command = {
    source: values.source,
    ...(values.user ? { user: values.user } : {}),
    target: { type, id: values[type] },
    action: { name: values.action, args: actionArgs, ...(values.version ? { version: values.version } : {}) },
    timeout,
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
