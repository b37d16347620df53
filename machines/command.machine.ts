import { assign, setup } from 'xstate';

/**
 * The lifecycle of one command. Pure: no clocks, no I/O. Time reaches it as the `at`
 * of each event, and the supervisor sends `DEADLINE` when a stored deadline passes, so the
 * deadlines survive restarts (persisted `after` timers are not re-armed on restore).
 */
export interface CommandMachineContext {
  /** Latest time to deliver (ms since epoch): `@timestamp + command.timeout`. */
  deliveryDeadline: number;
  /** How long the target may take to report a result once delivered (ms). */
  executionTimeoutMs: number;
  /** Set on delivery: latest time to report a result. */
  executionDeadline: number | null;
  deliveredAt: number | null;
  /** How many times the command was handed to a connection. */
  attempts: number;
  result: { code: number; message: string; data?: unknown } | null;
}

export interface CommandMachineInput {
  deliveryDeadline: number;
  executionTimeoutMs: number;
}

export type CommandMachineEvent =
  | { type: 'CLAIM'; at: number }
  | { type: 'TRANSPORT_CONFIRMED'; at: number }
  | { type: 'TRANSPORT_FAILED'; at: number }
  | { type: 'RECOVER'; at: number }
  | { type: 'RESULT'; at: number; code: number; message: string; data?: unknown }
  | { type: 'CANCEL'; at: number }
  | { type: 'DEADLINE'; at: number };

export const commandMachine = setup({
  types: {
    context: {} as CommandMachineContext,
    input: {} as CommandMachineInput,
    events: {} as CommandMachineEvent,
  },
  actions: {
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
    recordDelivery: assign(({ context, event }) => ({
      deliveredAt: event.at,
      executionDeadline: event.at + context.executionTimeoutMs,
    })),
    recordResult: assign({
      result: ({ event }) => {
        if (event.type !== 'RESULT') return null;
        return event.data === undefined
          ? { code: event.code, message: event.message }
          : { code: event.code, message: event.message, data: event.data };
      },
    }),
  },
  guards: {
    resultIsSuccess: ({ event }) => event.type === 'RESULT' && event.code === 0,
    deliveryDeadlinePassed: ({ context, event }) => event.at >= context.deliveryDeadline,
    executionDeadlinePassed: ({ context, event }) =>
      context.executionDeadline !== null && event.at >= context.executionDeadline,
  },
}).createMachine({
  id: 'command',
  initial: 'pending',
  context: ({ input }) => ({
    deliveryDeadline: input.deliveryDeadline,
    executionTimeoutMs: input.executionTimeoutMs,
    executionDeadline: null,
    deliveredAt: null,
    attempts: 0,
    result: null,
  }),
  states: {
    pending: {
      description: 'Accepted and durable; waiting for a live subscription of its target.',
      on: {
        CLAIM: { target: 'sent', actions: 'countAttempt' },
        CANCEL: { target: 'cancelled' },
        DEADLINE: { guard: 'deliveryDeadlinePassed', target: 'timed_out' },
        // A result for a command that went back to pending (its earlier delivery reached the agent).
        RESULT: [
          { guard: 'resultIsSuccess', target: 'success', actions: 'recordResult' },
          { target: 'failure', actions: 'recordResult' },
        ],
      },
    },
    sent: {
      description: 'Claimed for one live subscription and handed to its connection.',
      on: {
        TRANSPORT_CONFIRMED: { target: 'delivered', actions: 'recordDelivery' },
        TRANSPORT_FAILED: { target: 'pending' },
        RECOVER: { target: 'pending' },
        DEADLINE: { guard: 'deliveryDeadlinePassed', target: 'timed_out' },
        RESULT: [
          { guard: 'resultIsSuccess', target: 'success', actions: 'recordResult' },
          { target: 'failure', actions: 'recordResult' },
        ],
      },
    },
    delivered: {
      description: 'The transport confirmed it; waiting for the target to report a result.',
      on: {
        RESULT: [
          { guard: 'resultIsSuccess', target: 'success', actions: 'recordResult' },
          { target: 'failure', actions: 'recordResult' },
        ],
        DEADLINE: { guard: 'executionDeadlinePassed', target: 'timed_out' },
      },
    },
    success: { type: 'final' },
    failure: { type: 'final' },
    timed_out: { type: 'final' },
    cancelled: { type: 'final' },
  },
});
