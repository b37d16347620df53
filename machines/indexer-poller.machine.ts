import { assign, fromPromise, setup } from 'xstate';

/**
 * The indexer poller: tails `wazuh-commands` by `_seq_no` every poll interval, and every re-scan
 * interval also re-scans it for what a tail cannot see (pending commands, claims whose lease ran
 * out, overdue commands). A failed read backs off (the delay grows; the runtime adds jitter) and
 * is tried again; the poller never stops on its own. Its two reads are named actors provided by
 * the runtime; the machine does no I/O.
 */
export interface IndexerPollerContext {
  pollIntervalMs: number;
  rescanIntervalMs: number;
  /** Longest back-off after failures (ms). */
  maxBackoffMs: number;
  /** Failed reads in a row; 0 when the last read succeeded. */
  failures: number;
  lastError: string | null;
  /** A re-scan is due after the next tail. */
  rescanDue: boolean;
}

export interface IndexerPollerInput {
  pollIntervalMs: number;
  rescanIntervalMs: number;
  maxBackoffMs: number;
}

export type IndexerPollerEvent = { type: 'STOP' };

/** The back-off after `failures` failed reads in a row: the poll interval, doubled each time, capped. */
export function backoffMs(context: Pick<IndexerPollerContext, 'pollIntervalMs' | 'maxBackoffMs' | 'failures'>): number {
  return Math.min(context.maxBackoffMs, context.pollIntervalMs * 2 ** Math.max(0, context.failures - 1));
}

export const indexerPollerMachine = setup({
  types: {
    context: {} as IndexerPollerContext,
    input: {} as IndexerPollerInput,
    events: {} as IndexerPollerEvent,
  },
  actors: {
    // Placeholders: the runtime provides the real reads with `.provide()`.
    tail: fromPromise<void>(async () => {
      throw new Error('indexer poller: provide the "tail" actor');
    }),
    rescan: fromPromise<void>(async () => {
      throw new Error('indexer poller: provide the "rescan" actor');
    }),
  },
  actions: {
    recordSuccess: assign({ failures: 0, lastError: null }),
    recordFailure: assign({
      failures: ({ context }) => context.failures + 1,
      lastError: ({ event }) => {
        const error = (event as { error?: unknown }).error;
        return error instanceof Error ? error.message : String(error);
      },
    }),
    markRescanDue: assign({ rescanDue: true }),
    clearRescanDue: assign({ rescanDue: false }),
  },
  guards: {
    rescanDue: ({ context }) => context.rescanDue,
  },
  delays: {
    pollInterval: ({ context }) => context.pollIntervalMs,
    rescanInterval: ({ context }) => context.rescanIntervalMs,
    backoff: ({ context }) => backoffMs(context),
  },
}).createMachine({
  id: 'indexerPoller',
  initial: 'active',
  context: ({ input }) => ({
    pollIntervalMs: input.pollIntervalMs,
    rescanIntervalMs: input.rescanIntervalMs,
    maxBackoffMs: input.maxBackoffMs,
    failures: 0,
    lastError: null,
    // The supervisor has just loaded every unfinished command: the first re-scan can wait.
    rescanDue: false,
  }),
  states: {
    active: {
      type: 'parallel',
      on: { STOP: { target: 'stopped' } },
      states: {
        poll: {
          initial: 'tailing',
          states: {
            tailing: {
              description: 'Reading the index past the cursor, a page at a time; the cursor moves only past complete pages.',
              invoke: {
                src: 'tail',
                onDone: [
                  { guard: 'rescanDue', target: 'rescanning', actions: 'recordSuccess' },
                  { target: 'waiting', actions: 'recordSuccess' },
                ],
                onError: { target: 'backing_off', actions: 'recordFailure' },
              },
            },
            rescanning: {
              description: 'Re-reading pending, lapsed-claim and overdue commands, which a tail may have missed.',
              invoke: {
                src: 'rescan',
                onDone: { target: 'waiting', actions: ['recordSuccess', 'clearRescanDue'] },
                onError: { target: 'backing_off', actions: 'recordFailure' },
              },
            },
            waiting: {
              description: 'Until the next poll.',
              after: { pollInterval: { target: 'tailing' } },
            },
            backing_off: {
              description: 'The last read failed: wait longer each time, then try again.',
              after: { backoff: { target: 'tailing' } },
            },
          },
        },
        rescanClock: {
          initial: 'ticking',
          states: {
            ticking: {
              after: { rescanInterval: { target: 'ticking', reenter: true, actions: 'markRescanDue' } },
            },
          },
        },
      },
    },
    stopped: { type: 'final' },
  },
});
