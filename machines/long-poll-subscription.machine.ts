import { assign, setup } from 'xstate';
import { withHanded, withReleased } from './in-flight.js';

/**
 * One held long-poll request of an agent (or a local component). It is answered exactly once:
 * with commands, by a timeout (HTTP 408), or early because the server drains; or the client goes
 * away first. The commands handed to it are its own until they are confirmed or the connection
 * ends; what it still holds then is handed back (pending again).
 *
 * When are they confirmed? An agent that does not acknowledge (a Wazuh agent): once the answer
 * is written out to the socket, which does not prove that the agent read it. An agent that
 * acknowledges (its poll carried `ack`): when its next poll names them (`ACKED`); the others go
 * back to pending and are sent again.
 */
export interface LongPollContext {
  /** How long the request is held before a 408, jitter already applied (ms). */
  timeoutMs: number;
  /** The agent acknowledges what it read, on its next poll. */
  acking: boolean;
  /** Handed to it (claimed for it) and not yet confirmed. */
  inFlight: ReadonlySet<string>;
}

export interface LongPollInput {
  timeoutMs: number;
  /** Absent: false (the agent does not acknowledge). */
  acking?: boolean;
}

export type LongPollEvent =
  | { type: 'HANDED'; ids: string[] }
  | { type: 'RELEASED'; ids: string[] }
  /** The answer was written out to the socket. */
  | { type: 'WRITTEN' }
  /** The agent's next poll: it names the commands it read (the others it did not). */
  | { type: 'ACKED'; ids: string[] }
  | { type: 'CLOSED' }
  | { type: 'DRAIN' };

/** What an event confirms: a written answer all it holds, an acknowledgement those it names. */
function confirmedBy(context: LongPollContext, event: LongPollEvent): string[] {
  if (event.type === 'WRITTEN') return [...context.inFlight];
  if (event.type === 'ACKED') return event.ids.filter((id) => context.inFlight.has(id));
  return [];
}

export const longPollSubscriptionMachine = setup({
  types: {
    context: {} as LongPollContext,
    input: {} as LongPollInput,
    events: {} as LongPollEvent,
  },
  delays: {
    longPollTimeout: ({ context }) => context.timeoutMs,
  },
  guards: {
    acking: ({ context }) => context.acking,
    holdsNothing: ({ context }) => context.inFlight.size === 0,
  },
  actions: {
    hold: assign({ inFlight: ({ context, event }) => (event.type === 'HANDED' ? withHanded(context.inFlight, event.ids) : context.inFlight) }),
    settle: assign({ inFlight: ({ context, event }) => (event.type === 'RELEASED' ? withReleased(context.inFlight, event.ids) : context.inFlight) }),
    dropConfirmed: assign({ inFlight: ({ context, event }) => withReleased(context.inFlight, confirmedBy(context, event)) }),
    // Effects, provided by the runtime by name.
    /** Taken out of its route: it is handed nothing more. */
    detach: () => {},
    /** These commands reached the agent (→ delivered). */
    confirmDelivery: (_, _params: { ids: string[] }) => {},
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
  context: ({ input }) => ({ timeoutMs: input.timeoutMs, acking: input.acking ?? false, inFlight: new Set<string>() }),
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
        WRITTEN: [
          { guard: 'acking', target: 'awaiting_ack' },
          { target: 'answered', actions: [{ type: 'confirmDelivery', params: ({ context, event }) => ({ ids: confirmedBy(context, event) }) }, 'dropConfirmed'] },
        ],
        // The agent polled again before the end of this answer was seen.
        ACKED: {
          guard: 'acking',
          target: 'acknowledged',
          actions: [{ type: 'confirmDelivery', params: ({ context, event }) => ({ ids: confirmedBy(context, event) }) }, 'dropConfirmed'],
        },
        // Not written out: the client left first.
        CLOSED: { target: 'answered' },
        DRAIN: { target: 'drained' },
      },
    },
    awaiting_ack: {
      description: "Written out to an agent that acknowledges: its commands stay sent until the agent's next poll names them.",
      always: { guard: 'holdsNothing', target: 'acknowledged' },
      on: {
        RELEASED: { actions: 'settle' },
        ACKED: { target: 'acknowledged', actions: [{ type: 'confirmDelivery', params: ({ context, event }) => ({ ids: confirmedBy(context, event) }) }, 'dropConfirmed'] },
        DRAIN: { target: 'drained' },
      },
    },
    answered: { type: 'final', description: 'The answer was written out (or the client left first).', entry: ['detach', 'handBack'] },
    acknowledged: { type: 'final', description: 'The agent polled again: what it named was delivered, the rest goes back to pending.', entry: ['handBack'] },
    timed_out: { type: 'final', description: 'Answered 408: nothing arrived in time; the agent polls again.', entry: ['detach', 'answerTimeout'] },
    client_gone: { type: 'final', description: 'The client disconnected first; nothing was handed to it.', entry: ['detach'] },
    drained: { type: 'final', description: 'Ended early because the server is shutting down.', entry: ['detach', 'handBack'] },
  },
});
