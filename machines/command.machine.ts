import { assign, setup } from 'xstate';

/**
 * The lifecycle of one command, and every effect each of its transitions has. Pure: no clocks,
 * no I/O. Time reaches it as the `at` of each event, and the runtime sends `DEADLINE` when a
 * stored deadline passes, so that deadlines survive restarts (persisted `after` timers are not
 * re-armed on restore).
 *
 * The effects are named actions; their implementations are the runtime's (src/runtime/
 * command-effects.ts), looked up by these names. In order of execution on a transition: the
 * exit actions of the state left, the transition's own, the entry actions of the state entered.
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

/** `by`: who caused the event, for the audit trail (absent: courier itself). */
export type CommandMachineEvent =
  | { type: 'CLAIM'; at: number; by?: string; subscription?: string }
  | { type: 'TRANSPORT_CONFIRMED'; at: number; by?: string }
  | { type: 'TRANSPORT_FAILED'; at: number; by?: string }
  | { type: 'RECOVER'; at: number }
  | { type: 'LEASE_EXPIRED'; at: number }
  | { type: 'RESULT'; at: number; by?: string; code: number; message: string; data?: unknown }
  | { type: 'CANCEL'; at: number; by?: string }
  | { type: 'DEADLINE'; at: number };

/** What `persist` writes besides the new state: why (the audit record's cause), and whether the claim lease is taken. */
export interface PersistParams {
  cause: 'claimed' | 'delivered' | 'transport_failed' | 'recovered' | 'lease_expired' | 'result' | 'cancelled' | 'deadline';
  /** Take this node's claim lease (only a claim does; every other write releases it). */
  claim?: true;
}

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
        return event.data === undefined ? { code: event.code, message: event.message } : { code: event.code, message: event.message, data: event.data };
      },
    }),
    // Effects: declared here by name (and params), implemented by the runtime.
    /**
     * Carry out what its success means beyond the command (a set-group's groups become its
     * agent's, in the registry): staged here, written by the `persist` that follows, with it.
     */
    applyResult: () => {},
    /** Write the new state and its audit record (one per transition), batched; watchers wake on the commit. */
    persist: (_, _params: PersistParams) => {},
    /** Queue it on its route, in creation order, ready since now; wake the route. */
    enqueue: () => {},
    /** Hand it to the subscription the claim was made for (named by `CLAIM`); it leaves once the claim is durable. */
    handToConnection: () => {},
    /** No longer held by a connection: confirmed, failed, or moved on. */
    releaseFromConnection: () => {},
    /** Arm the execution deadline (`executionDeadline`). */
    armExecutionDeadline: () => {},
    /** Report the dispatch latency (ready → delivered). */
    observeDelivery: () => {},
    /** Stop and forget it once its final state is durable. */
    retire: () => {},
  },
  guards: {
    resultIsSuccess: ({ event }) => event.type === 'RESULT' && event.code === 0,
    deliveryDeadlinePassed: ({ context, event }) => event.at >= context.deliveryDeadline,
    executionDeadlinePassed: ({ context, event }) => context.executionDeadline !== null && event.at >= context.executionDeadline,
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
      tags: ['queued'],
      entry: ['enqueue'],
      on: {
        CLAIM: { target: 'sent', actions: ['countAttempt', { type: 'persist', params: { cause: 'claimed', claim: true } }] },
        CANCEL: { target: 'cancelled', actions: [{ type: 'persist', params: { cause: 'cancelled' } }] },
        DEADLINE: { guard: 'deliveryDeadlinePassed', target: 'timed_out', actions: [{ type: 'persist', params: { cause: 'deadline' } }] },
        // A result for a command that went back to pending (its earlier delivery reached the agent).
        RESULT: [
          { guard: 'resultIsSuccess', target: 'success', actions: ['recordResult', 'applyResult', { type: 'persist', params: { cause: 'result' } }] },
          { target: 'failure', actions: ['recordResult', { type: 'persist', params: { cause: 'result' } }] },
        ],
      },
    },
    sent: {
      description: 'Claimed for one live subscription and handed to its connection.',
      tags: ['claimed'],
      entry: ['handToConnection'],
      exit: ['releaseFromConnection'],
      on: {
        TRANSPORT_CONFIRMED: { target: 'delivered', actions: ['recordDelivery', { type: 'persist', params: { cause: 'delivered' } }] },
        TRANSPORT_FAILED: { target: 'pending', actions: [{ type: 'persist', params: { cause: 'transport_failed' } }] },
        RECOVER: { target: 'pending', actions: [{ type: 'persist', params: { cause: 'recovered' } }] },
        LEASE_EXPIRED: { target: 'pending', actions: [{ type: 'persist', params: { cause: 'lease_expired' } }] },
        DEADLINE: { guard: 'deliveryDeadlinePassed', target: 'timed_out', actions: [{ type: 'persist', params: { cause: 'deadline' } }] },
        RESULT: [
          { guard: 'resultIsSuccess', target: 'success', actions: ['recordResult', 'applyResult', { type: 'persist', params: { cause: 'result' } }] },
          { target: 'failure', actions: ['recordResult', { type: 'persist', params: { cause: 'result' } }] },
        ],
      },
    },
    delivered: {
      description: 'The transport confirmed it; waiting for the target to report a result.',
      entry: ['armExecutionDeadline', 'observeDelivery'],
      on: {
        RESULT: [
          { guard: 'resultIsSuccess', target: 'success', actions: ['recordResult', 'applyResult', { type: 'persist', params: { cause: 'result' } }] },
          { target: 'failure', actions: ['recordResult', { type: 'persist', params: { cause: 'result' } }] },
        ],
        DEADLINE: { guard: 'executionDeadlinePassed', target: 'timed_out', actions: [{ type: 'persist', params: { cause: 'deadline' } }] },
      },
    },
    success: { type: 'final', entry: ['retire'] },
    failure: { type: 'final', entry: ['retire'] },
    timed_out: { type: 'final', entry: ['retire'] },
    cancelled: { type: 'final', entry: ['retire'] },
  },
});
