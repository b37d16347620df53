import { setup } from 'xstate';

/**
 * One agent WebSocket connection. While open it receives pushed commands;
 * commands pushed but not yet acknowledged go back to pending when it closes.
 */
export type WebSocketSubscriptionEvent = { type: 'CLOSED' } | { type: 'DRAIN' };

export const webSocketSubscriptionMachine = setup({
  types: {
    events: {} as WebSocketSubscriptionEvent,
  },
}).createMachine({
  id: 'webSocketSubscription',
  initial: 'open',
  states: {
    open: {
      description: 'Connected and authenticated; commands are pushed as they arrive.',
      on: {
        CLOSED: { target: 'closed' },
        DRAIN: { target: 'closed' },
      },
    },
    closed: { type: 'final', description: 'The connection ended (client, keepalive failure, or shutdown).' },
  },
});
