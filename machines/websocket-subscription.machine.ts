import { assign, setup } from 'xstate';
import { withHanded, withReleased } from './in-flight.js';

/**
 * One agent WebSocket connection. While open it is pushed commands as they arrive; those it holds
 * (pushed, not yet acknowledged) are handed back (pending again) when it closes.
 */
export interface WebSocketSubscriptionContext {
  /** Handed to it (claimed for it) and not yet acknowledged. */
  inFlight: ReadonlySet<string>;
}

export type WebSocketSubscriptionEvent = { type: 'HANDED'; ids: string[] } | { type: 'RELEASED'; ids: string[] } | { type: 'CLOSED' } | { type: 'DRAIN' };

export const webSocketSubscriptionMachine = setup({
  types: {
    context: {} as WebSocketSubscriptionContext,
    events: {} as WebSocketSubscriptionEvent,
  },
  actions: {
    hold: assign({ inFlight: ({ context, event }) => (event.type === 'HANDED' ? withHanded(context.inFlight, event.ids) : context.inFlight) }),
    settle: assign({ inFlight: ({ context, event }) => (event.type === 'RELEASED' ? withReleased(context.inFlight, event.ids) : context.inFlight) }),
    // Effects, provided by the runtime by name.
    /** Taken out of its route: it is handed nothing more. */
    detach: () => {},
    /** What it still holds goes back to its commands' machines (pending again, delivered again). */
    handBack: () => {},
    /** Close the connection now: the server is shutting down. */
    answerDrain: () => {},
  },
}).createMachine({
  id: 'webSocketSubscription',
  initial: 'open',
  context: () => ({ inFlight: new Set<string>() }),
  states: {
    open: {
      description: 'Connected and authenticated; commands are pushed as they arrive, up to its bounds.',
      tags: ['accepting'],
      on: {
        HANDED: { actions: 'hold' },
        RELEASED: { actions: 'settle' },
        CLOSED: { target: 'closed' },
        DRAIN: { target: 'closed', actions: ['answerDrain'] },
      },
    },
    closed: { type: 'final', description: 'The connection ended (client, keepalive failure, token expiry, or shutdown).', entry: ['detach', 'handBack'] },
  },
});
