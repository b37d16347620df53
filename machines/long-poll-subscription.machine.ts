import { setup } from 'xstate';

/**
 * One held long-poll request of an agent (or a local component). It ends exactly once:
 * answered with commands, timed out (HTTP 408), the client went away, or the server drained it.
 */
export interface LongPollContext {
  /** How long the request is held before a 408, jitter already applied (ms). */
  timeoutMs: number;
}

export type LongPollEvent = { type: 'ANSWER' } | { type: 'CLIENT_GONE' } | { type: 'DRAIN' };

export const longPollSubscriptionMachine = setup({
  types: {
    context: {} as LongPollContext,
    input: {} as LongPollContext,
    events: {} as LongPollEvent,
  },
  delays: {
    longPollTimeout: ({ context }) => context.timeoutMs,
  },
}).createMachine({
  id: 'longPollSubscription',
  initial: 'waiting',
  context: ({ input }) => ({ timeoutMs: input.timeoutMs }),
  states: {
    waiting: {
      description: 'Held open until work arrives for its target.',
      after: { longPollTimeout: { target: 'timed_out' } },
      on: {
        ANSWER: { target: 'answered' },
        CLIENT_GONE: { target: 'client_gone' },
        DRAIN: { target: 'drained' },
      },
    },
    answered: { type: 'final', description: 'Answered 200 with commands.' },
    timed_out: { type: 'final', description: 'Answered 408: nothing arrived in time; the agent polls again.' },
    client_gone: { type: 'final', description: 'The client disconnected first; nothing was handed to it.' },
    drained: { type: 'final', description: 'Answered early because the server is shutting down.' },
  },
});
