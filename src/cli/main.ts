import { CourierError } from '../errors.js';
import { ADMIN_COMMANDS } from './admin-commands.js';
import { runAgent } from './agent-command.js';
import { runServe } from './serve-command.js';

const HELP = `courier — command distribution for endpoint-agent fleets

Usage: courier <command> [options]

Commands:
  serve                     run a courier node (agents API + admin Unix socket)
  agents add|show|remove    manage registered agents
  send                      send a command to an agent, a group or a server component
  show <document_id>        a command and its status
  history <document_id>     the audit trail of a command
  cancel <document_id>      cancel a command not yet delivered
  agent                     run the reference agent (prints commands, reports success)

Run \`courier <command> --help\` for its options.`;

/** Each command takes its own arguments and resolves to the process exit code. */
const RUNNERS: Record<string, (args: string[]) => Promise<number>> = {
  serve: runServe,
  agent: runAgent,
  ...ADMIN_COMMANDS,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 1;
  }
  const run = RUNNERS[name];
  if (!run) {
    console.error(`courier: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof CourierError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
    console.error(`courier: ${message}`);
    process.exitCode = 1;
  },
);
