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

/** The most seconds a command may wait for delivery (30 days), as the API allows. */
export const MAX_TIMEOUT_S = 2_592_000;

/** A flag's value as a whole number within [min, max] (digits only: not `1e3`, not `2.0`), or null. */
export function wholeNumber(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}
