import { CommanderError } from '@commander-js/extra-typings';
import { CourierError } from '../errors.js';
import { RefusedByCourier } from './connection.js';
import { EXIT } from './exit-codes.js';
import { courierProgram } from './program.js';
import { UsageError } from './usage.js';

// `courier serve --help | head`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const argv = process.argv.slice(2);
// For scripts, every error is a JSON line on stderr, parse errors included.
const json = argv.includes('--json');

courierProgram({ json })
  .parseAsync(argv, { from: 'user' })
  .catch((error: unknown) => {
    process.exitCode = exitCodeOf(error);
    // commander has printed its own (help, version, a parse error).
    if (error instanceof CommanderError) return;
    if (json) console.error(JSON.stringify(errorBody(error)));
    else if (error instanceof UsageError)
      console.error(error.command === null ? `courier: ${error.message}` : `courier ${error.command}: ${error.message}\n(courier ${error.command} --help: its usage and options)`);
    else console.error(`courier: ${error instanceof CourierError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error)}`);
  });

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.OK : EXIT.USAGE;
  if (error instanceof UsageError) return EXIT.USAGE;
  return EXIT.ERROR;
}

/** An error as courier's HTTP errors are: `code` null for one of the CLI's own. */
function errorBody(error: unknown): { message: string; code: string | null; status?: number } {
  if (error instanceof RefusedByCourier) return { message: error.answer, code: error.code, status: error.status };
  if (error instanceof CourierError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error), code: null };
}
