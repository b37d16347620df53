import { InvalidArgumentError } from '@commander-js/extra-typings';
import { EXIT } from './exit-codes.js';

/**
 * A command line the CLI cannot act on although each flag parsed (a target missing, flags that do not
 * go together): printed as `courier <command>: <why>` (`courier: <why>` without a command), exit code 2.
 */
export class UsageError extends Error {
  constructor(
    readonly command: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An action's body resolves to the process exit code; commander's action handlers resolve to nothing. */
export function exits<Args extends unknown[]>(body: (...args: Args) => Promise<number>): (...args: Args) => Promise<void> {
  return async (...args) => {
    const code = await body(...args);
    if (code !== EXIT.OK) process.exitCode = code;
  };
}

/** A repeatable option's values, in the order given (`--group a --group b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The most seconds a command may wait for delivery (30 days), as the API allows. */
export const MAX_TIMEOUT_S = 2_592_000;

/** A flag's value as a whole number within [min, max] (digits only: not `1e3`, not `2.0`), or null. */
export function wholeNumber(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}

/** An option parser taking a whole number within [min, max]; commander names the flag and the value in its error. */
export function wholeNumberOf(what: string, min: number, max = Number.MAX_SAFE_INTEGER, note = ''): (text: string) => number {
  return (text) => {
    const value = wholeNumber(text, min, max);
    if (value === null) throw new InvalidArgumentError(`Give a whole number of ${what}, from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}${note}.`);
    return value;
  };
}

/** `--timeout`: seconds within which a command must be delivered, named as the flag and not as the API's `body.commands.0.timeout`. */
export const timeoutSeconds = wholeNumberOf('seconds', 1, MAX_TIMEOUT_S, ' (30 days)');
