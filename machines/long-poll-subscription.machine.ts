import { assign, setup } from 'xstate';
import { withHanded, withReleased } from './in-flight.js';

/**
 * One held long-poll request of an agent (or a local component). It is answered exactly once:
 * with commands, by a timeout (HTTP 408), or early because the server drains; or the client goes
 * away first. The commands handed to it are its own until the transport confirms them (the answer
 * was written out) or the connection ends; what it still holds then is handed back (pending again).
 */
export interface LongPollContext {
  /** How long the request is held before a 408, jitter already applied (ms). */
  timeoutMs: number;
  /** Handed to it (claimed for it) and not yet confirmed. */
  inFlight: ReadonlySet<string>;
}

export interface LongPollInput {
  timeoutMs: number;
}

export type LongPollEvent = { type: 'HANDED'; ids: string[] } | { type: 'RELEASED'; ids: string[] } | { type: 'CLOSED' } | { type: 'DRAIN' };

export const longPollSubscriptionMachine = setup({
  types: {
    context: {} as LongPollContext,
    input: {} as LongPollInput,
    events: {} as LongPollEvent,
  },
  delays: {
    longPollTimeout: ({ context }) => context.timeoutMs,
  },
  actions: {
    hold: assign({ inFlight: ({ context, event }) => (event.type === 'HANDED' ? withHanded(context.inFlight, event.ids) : context.inFlight) }),
    settle: assign({ inFlight: ({ context, event }) => (event.type === 'RELEASED' ? withReleased(context.inFlight, event.ids) : context.inFlight) }),
    // Effects, provided by the runtime by name.
    /** Taken out of its route: it is handed nothing more. */
    detach: () => {},
    /** What it still holds goes back to its commands' machines (pending again, delivered again). */
    handBack: () => {},
    /** Answer 408: nothing arrived in time; the agent polls again. */
    answerTimeout: () => {},
    /** Answer 503 now: the server is shutting down. */
    answerDrain: () => {},
  },
}).createMachine({
  id: 'longPollSubscription',
  initial: 'waiting',
  context: ({ input }) => ({ timeoutMs: input.timeoutMs, inFlight: new Set<string>() }),
  states: {
    waiting: {
      description: 'Held open until work arrives for its target; it may be handed commands.',
      tags: ['accepting'],
      after: { longPollTimeout: { target: 'timed_out' } },
      on: {
        HANDED: { target: 'answering', actions: ['hold', 'detach'] },
        CLOSED: { target: 'client_gone' },
        DRAIN: { target: 'drained', actions: ['answerDrain'] },
      },
    },
    answering: {
      description: 'Answered with the commands handed to it; they are its own until the answer is written out.',
      on: {
        RELEASED: { actions: 'settle' },
        CLOSED: { target: 'answered' },
        DRAIN: { target: 'drained' },
      },
    },
    answered: { type: 'final', description: 'The answer was written out (or the client left first).', entry: ['detach', 'handBack'] },
    timed_out: { type: 'final', description: 'Answered 408: nothing arrived in time; the agent polls again.', entry: ['detach', 'answerTimeout'] },
    client_gone: { type: 'final', description: 'The client disconnected first; nothing was handed to it.', entry: ['detach'] },
    drained: { type: 'final', description: 'Ended early because the server is shutting down.', entry: ['detach', 'handBack'] },
  },
});
