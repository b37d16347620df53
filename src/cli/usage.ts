import { EXIT } from './exit-codes.js';

/**
 * A command line a command did not understand: says why — no subcommand, one it does not have, or
 * one missing what it needs — then prints the command's help; returns the usage exit code.
 */
export function badUsage(command: string, verb: string | undefined, known: readonly string[], help: string): number {
  const why =
    verb === undefined
      ? `a subcommand is needed (one of: ${known.join(', ')})`
      : known.includes(verb)
        ? `${verb}: an argument or option it needs is missing`
        : `unknown subcommand "${verb}" (one of: ${known.join(', ')})`;
  console.error(`courier ${command}: ${why}\n\n${help}`);
  return EXIT.USAGE;
}
