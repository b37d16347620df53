import { CourierError } from '../errors.js';
import { RefusedByCourier } from './connection.js';
import { COURIER_VERSION } from '../version.js';
import { runAgent } from './agent-command.js';
import { runAgents } from './agents-command.js';
import { runAudit } from './audit-command.js';
import { runCommands } from './commands-command.js';
import { runTokenKeys } from './token-keys-command.js';
import { runEnrollmentTokens } from './enrollment-tokens-command.js';
import { runKeys } from './keys-command.js';
import { runRequests } from './requests-command.js';
import { runJobs } from './jobs-command.js';
import { runSend } from './send-command.js';
import { runServe } from './serve-command.js';

const HELP = `courier — command distribution for endpoint-agent fleets

Usage: courier <command> [options]      courier --version

Commands:
  serve                          run a courier node (agents API, management API, admin Unix socket)
  agents add|show|remove|list    manage registered agents
  enrollment-tokens create|list|revoke   tokens with which agents register themselves (courier agent --enroll)
  token-keys rotate|list --file <f>      the key set that signs agent tokens on every node of a cluster (serve --token-keys)
  send                           send a command to an agent, a group or a server component (--wait: follow it)
  commands list|show|history|cancel
  show | history | cancel <id>   short for "commands show|history|cancel"
  requests show <request_id>     one fan-out at a glance: counts per status, the agents not (yet) successful
  jobs create|list|show|pause|resume|approve|cancel   rollouts: scheduled, at a rate, canary first, multi-step
  audit [--follow]               the audit trail, or its live feed
  keys create|list|revoke        operator API keys for the management API
  agent                          run the reference agent (prints commands, reports success; --enroll to register itself)

Operator commands talk to the local admin socket, or to a remote management API with
--url and --api-key (COURIER_URL, COURIER_API_KEY). Human-readable tables by default, --json for scripts.
Run \`courier <command> --help\` for its options.`;

/** Each command takes its own arguments and resolves to the process exit code. */
const RUNNERS: Record<string, (args: string[]) => Promise<number>> = {
  serve: runServe,
  agent: runAgent,
  agents: runAgents,
  send: runSend,
  commands: (args) => runCommands(args),
  show: (args) => runCommands(args, 'show'),
  history: (args) => runCommands(args, 'history'),
  cancel: (args) => runCommands(args, 'cancel'),
  requests: runRequests,
  jobs: runJobs,
  audit: runAudit,
  keys: runKeys,
  'enrollment-tokens': runEnrollmentTokens,
  'token-keys': runTokenKeys,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(COURIER_VERSION);
    return 0;
  }
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
    if (process.argv.includes('--json')) {
      // For scripts: the error as courier's HTTP errors are, `code` null for one of the CLI's own.
      console.error(JSON.stringify(errorBody(error)));
    } else {
      const message = error instanceof CourierError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
      console.error(`courier: ${message}`);
    }
    process.exitCode = 1;
  },
);

function errorBody(error: unknown): { message: string; code: string | null; status?: number } {
  if (error instanceof RefusedByCourier) return { message: error.answer, code: error.code, status: error.status };
  if (error instanceof CourierError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error), code: null };
}
