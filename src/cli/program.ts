import { Command } from '@commander-js/extra-typings';
import { COURIER_VERSION } from '../version.js';
import { registerAgent } from './agent-command.js';
import { registerAgents } from './agents-command.js';
import { registerAudit } from './audit-command.js';
import { registerCommands } from './commands-command.js';
import { commandPaths } from './command-paths.js';
import { registerCompletion } from './completion.js';
import { registerEnrollmentTokens } from './enrollment-tokens-command.js';
import { registerJobs } from './jobs-command.js';
import { registerKeys } from './keys-command.js';
import { registerRequests } from './requests-command.js';
import { registerSend } from './send-command.js';
import { registerServe } from './serve-command.js';
import { registerTokenKeys } from './token-keys-command.js';

/** How the CLI reports a command line it cannot parse: a line for a person, or (`--json`) for a script. */
export interface ProgramOutput {
  json: boolean;
}

/**
 * The whole command line of courier, as commander parses it: help per command, `--version`,
 * unknown options and commands named (with the nearest known one), required options and choices.
 * Parse errors are thrown (exitOverride) so that main decides the exit code.
 */
export function courierProgram(output: ProgramOutput = { json: false }): Command {
  const program = new Command('courier')
    .description('command distribution for endpoint-agent fleets')
    .version(COURIER_VERSION, '-V, --version', 'print the version')
    .helpCommand('help [command]', 'help for a command')
    // Options after a command's name are that command's own (`send --version 5.0.0` is not courier's --version).
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Operator commands talk to the local admin socket, or to a remote management API with --url and
--api-key (COURIER_URL, COURIER_API_KEY). Tables by default, --json for scripts.
Exit codes: 0 done, 1 an error (courier unreachable, a refusal), 2 a command line not understood;
send --wait and jobs show --wait: 3 a command failed, 4 one timed out, 5 one was cancelled.
Shell completion: courier completion bash|zsh.`,
    );
  registerServe(program);
  registerAgents(program);
  registerEnrollmentTokens(program);
  registerTokenKeys(program);
  registerSend(program);
  registerCommands(program);
  registerRequests(program);
  registerJobs(program);
  registerAudit(program);
  registerKeys(program);
  registerAgent(program);
  registerCompletion(program);
  for (const [command, path] of commandPaths(program)) {
    // commander's `error: …` becomes `courier agents: …`, naming the command it is about; JSON under --json.
    command.configureOutput({
      outputError: (text, write) =>
        write(output.json ? `${JSON.stringify({ message: text.replace(/^error: /, '').trim(), code: null })}\n` : text.replace(/^error: /, `${path}: `)),
    });
    if (!output.json) command.showHelpAfterError(`(${path} --help: its usage and options)`);
  }
  return program;
}
