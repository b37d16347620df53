import type { CommandStatus } from '../domain/command.js';

/**
 * The CLI's exit codes, so that a script can tell what happened without parsing the output:
 * 0 done, 1 an error (courier unreachable, a refusal), 2 a usage error, and for `send --wait` the
 * worst way one of the commands ended, in this order: a failure reported by its target, a timeout,
 * a cancellation.
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  FAILED: 3,
  TIMED_OUT: 4,
  CANCELLED: 5,
} as const;

/** The exit code of commands that have all ended, from their counts per status. */
export function exitCodeOf(counts: Partial<Record<CommandStatus, number>>): number {
  if ((counts.failure ?? 0) > 0) return EXIT.FAILED;
  if ((counts.timed_out ?? 0) > 0) return EXIT.TIMED_OUT;
  if ((counts.cancelled ?? 0) > 0) return EXIT.CANCELLED;
  return EXIT.OK;
}
