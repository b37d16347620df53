import { assign, setup } from 'xstate';

/**
 * The lifecycle of one job: a rollout of one or more steps to many targets, each step a command per
 * target. Pure: no clocks, no I/O. Time and the rollout's progress reach it in events: the runtime
 * sends `START` when the job's `start_at` passes, `END` when its `end_at` passes, `WINDOW_OPENED` and
 * `WINDOW_CLOSED` at the edges of its maintenance windows, and `PROGRESS` with the counts it read from
 * the store after commands of the job changed.
 *
 * The machine decides whether commands may go out (the tag `releasing`; `canary` limits them to the
 * canary's targets); the runtime's driver releases them at the job's rate while it may. The effects are
 * named actions, implemented by the runtime (src/jobs/job-driver.ts).
 */

export type AbortOn = 'failure' | 'timed_out' | 'any';

export interface AbortCriterion {
  on: AbortOn;
  thresholdPercent: number;
  minFinished: number;
}

export interface JobMachineContext {
  /** How many targets the canary has (0: no canary). */
  canaryTargets: number;
  /** After the canary: wait for an operator, or go on when its success rate reaches this percent. */
  canaryThen: 'approve' | { autoAtSuccessPercent: number };
  /** Set once the canary passed (approved, or automatically): the rollout does not go back to it. */
  canaryPassed: boolean;
  abort: AbortCriterion[];
  /** Whether the job has maintenance windows, and whether one is open now. */
  hasWindows: boolean;
  windowOpen: boolean;
  endBehavior: 'stop_rollout' | 'cancel';
  /** Why the job aborted, for its record and audit trail. */
  abortReason: string | null;
}

export interface JobMachineInput {
  canaryTargets: number;
  canaryThen: 'approve' | { autoAtSuccessPercent: number };
  abort: AbortCriterion[];
  hasWindows: boolean;
  endBehavior: 'stop_rollout' | 'cancel';
}

/**
 * What the driver read of the job's commands. A target's *execution* is the run of the job's steps on
 * it; it is finished when its last step succeeded or a step failed with no retry left. Counts of
 * finished executions by how they ended (`failed` and `timedOut` count the failed ones by the failure
 * type of their last command; `cancelled` the others).
 */
export interface JobProgress {
  finished: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  /** Of the canary's targets: how many finished, how many of those succeeded. */
  canaryFinished: number;
  canarySucceeded: number;
  /** Every target started and finished: nothing more to send, nothing under way. */
  done: boolean;
}

/** `by`: who caused the event, for the audit trail (absent: courier itself). */
export type JobMachineEvent =
  | { type: 'START'; at: number }
  | { type: 'WINDOW_OPENED'; at: number }
  | { type: 'WINDOW_CLOSED'; at: number }
  | ({ type: 'PROGRESS'; at: number } & JobProgress)
  | { type: 'PAUSE'; at: number; by?: string }
  | { type: 'RESUME'; at: number; by?: string }
  | { type: 'APPROVE'; at: number; by?: string }
  | { type: 'CANCEL'; at: number; by?: string }
  | { type: 'END'; at: number };

export interface JobPersistParams {
  cause: 'started' | 'window_opened' | 'window_closed' | 'canary_finished' | 'canary_passed' | 'approved' | 'paused' | 'resumed' | 'aborted' | 'completed' | 'cancelled' | 'ended';
}

/** Which criterion a progress meets, if any, as the reason to abort. */
function abortReason(criteria: AbortCriterion[], progress: JobProgress): string | null {
  for (const criterion of criteria) {
    if (progress.finished === 0 || progress.finished < criterion.minFinished) continue;
    const failing = criterion.on === 'failure' ? progress.failed : criterion.on === 'timed_out' ? progress.timedOut : progress.finished - progress.succeeded;
    const percent = (failing * 100) / progress.finished;
    if (percent >= criterion.thresholdPercent) {
      return `${failing} of ${progress.finished} finished targets (${Math.round(percent * 10) / 10} %) ended ${criterion.on === 'any' ? 'without success' : criterion.on}: the threshold is ${criterion.thresholdPercent} % once ${criterion.minFinished} finished`;
    }
  }
  return null;
}

function canaryFinished(context: JobMachineContext, event: JobMachineEvent): boolean {
  return event.type === 'PROGRESS' && event.canaryFinished >= context.canaryTargets;
}

export const jobMachine = setup({
  types: {
    context: {} as JobMachineContext,
    input: {} as JobMachineInput,
    events: {} as JobMachineEvent,
  },
  actions: {
    noteWindowOpen: assign({ windowOpen: true }),
    noteWindowClosed: assign({ windowOpen: false }),
    passCanary: assign({ canaryPassed: true }),
    recordAbortReason: assign({
      abortReason: ({ context, event }) => (event.type === 'PROGRESS' ? abortReason(context.abort, event) : null),
    }),
    // Effects: declared here by name (and params), implemented by the runtime.
    /** Write the job's new state and its audit record. */
    persist: (_, _params: JobPersistParams) => {},
    /** Cancel the job's commands not yet delivered (sent ones run to their end). */
    cancelUndelivered: () => {},
    /** Stop driving it once its final state is durable. */
    retire: () => {},
  },
  guards: {
    abortMet: ({ context, event }) => event.type === 'PROGRESS' && abortReason(context.abort, event) !== null,
    done: ({ event }) => event.type === 'PROGRESS' && event.done,
    canaryFinished: ({ context, event }) => canaryFinished(context, event),
    /** The canary finished, and the job waits for an operator's approval after it. */
    canaryAwaitsApproval: ({ context, event }) => context.canaryThen === 'approve' && canaryFinished(context, event),
    /** The canary finished with a success rate that lets the rollout go on by itself. */
    canarySucceeded: ({ context, event }) =>
      event.type === 'PROGRESS' &&
      typeof context.canaryThen === 'object' &&
      canaryFinished(context, event) &&
      (event.canarySucceeded * 100) / Math.max(1, event.canaryFinished) >= context.canaryThen.autoAtSuccessPercent,
    /** Outside every maintenance window (a job without windows is never outside). */
    outsideWindow: ({ context }) => context.hasWindows && !context.windowOpen,
    canaryAhead: ({ context }) => context.canaryTargets > 0 && !context.canaryPassed,
    endCancels: ({ context }) => context.endBehavior === 'cancel',
  },
}).createMachine({
  id: 'job',
  initial: 'scheduled',
  context: ({ input }) => ({
    canaryTargets: input.canaryTargets,
    canaryThen: input.canaryThen,
    canaryPassed: false,
    abort: input.abort,
    hasWindows: input.hasWindows,
    windowOpen: false,
    endBehavior: input.endBehavior,
    abortReason: null,
  }),
  // Whatever the state (final ones aside): an operator may cancel, the end time ends it, windows are noted.
  on: {
    CANCEL: { target: '.cancelled', actions: ['cancelUndelivered', { type: 'persist', params: { cause: 'cancelled' } }] },
    END: [
      { guard: 'endCancels', target: '.ended', actions: ['cancelUndelivered', { type: 'persist', params: { cause: 'ended' } }] },
      { target: '.ended', actions: [{ type: 'persist', params: { cause: 'ended' } }] },
    ],
    WINDOW_OPENED: { actions: 'noteWindowOpen' },
    WINDOW_CLOSED: { actions: 'noteWindowClosed' },
    PROGRESS: { guard: 'abortMet', target: '.aborted', actions: ['recordAbortReason', 'cancelUndelivered', { type: 'persist', params: { cause: 'aborted' } }] },
  },
  states: {
    scheduled: {
      description: 'Created; waiting for its start time.',
      on: {
        START: [
          { guard: 'outsideWindow', target: 'waiting_window', actions: [{ type: 'persist', params: { cause: 'started' } }] },
          { guard: 'canaryAhead', target: 'canary', actions: [{ type: 'persist', params: { cause: 'started' } }] },
          { target: 'rolling_out', actions: [{ type: 'persist', params: { cause: 'started' } }] },
        ],
      },
    },
    waiting_window: {
      description: 'Started, outside its maintenance windows: nothing new goes out until one opens.',
      on: {
        WINDOW_OPENED: [
          { guard: 'canaryAhead', target: 'canary', actions: ['noteWindowOpen', { type: 'persist', params: { cause: 'window_opened' } }] },
          { target: 'rolling_out', actions: ['noteWindowOpen', { type: 'persist', params: { cause: 'window_opened' } }] },
        ],
        PAUSE: { target: 'paused', actions: [{ type: 'persist', params: { cause: 'paused' } }] },
      },
    },
    canary: {
      description: "Sending to the canary's targets only, at the job's rate.",
      tags: ['releasing', 'canary'],
      on: {
        PROGRESS: [
          { guard: 'abortMet', target: 'aborted', actions: ['recordAbortReason', 'cancelUndelivered', { type: 'persist', params: { cause: 'aborted' } }] },
          { guard: 'done', target: 'completed', actions: [{ type: 'persist', params: { cause: 'completed' } }] },
          { guard: 'canaryAwaitsApproval', target: 'awaiting_approval', actions: [{ type: 'persist', params: { cause: 'canary_finished' } }] },
          { guard: 'canarySucceeded', target: 'rolling_out', actions: ['passCanary', { type: 'persist', params: { cause: 'canary_passed' } }] },
          // Below the success rate that continues on its own: an operator decides (approve or cancel).
          { guard: 'canaryFinished', target: 'awaiting_approval', actions: [{ type: 'persist', params: { cause: 'canary_finished' } }] },
        ],
        WINDOW_CLOSED: { target: 'waiting_window', actions: ['noteWindowClosed', { type: 'persist', params: { cause: 'window_closed' } }] },
        PAUSE: { target: 'paused', actions: [{ type: 'persist', params: { cause: 'paused' } }] },
      },
    },
    awaiting_approval: {
      description: 'The canary finished: waiting for an operator to approve the rest (or, below the success rate that goes on by itself, to decide).',
      on: {
        APPROVE: [
          { guard: 'outsideWindow', target: 'waiting_window', actions: ['passCanary', { type: 'persist', params: { cause: 'approved' } }] },
          { target: 'rolling_out', actions: ['passCanary', { type: 'persist', params: { cause: 'approved' } }] },
        ],
      },
    },
    rolling_out: {
      description: "Sending to every target, at the job's rate.",
      tags: ['releasing'],
      on: {
        PROGRESS: [
          { guard: 'abortMet', target: 'aborted', actions: ['recordAbortReason', 'cancelUndelivered', { type: 'persist', params: { cause: 'aborted' } }] },
          { guard: 'done', target: 'completed', actions: [{ type: 'persist', params: { cause: 'completed' } }] },
        ],
        WINDOW_CLOSED: { target: 'waiting_window', actions: ['noteWindowClosed', { type: 'persist', params: { cause: 'window_closed' } }] },
        PAUSE: { target: 'paused', actions: [{ type: 'persist', params: { cause: 'paused' } }] },
      },
    },
    paused: {
      description: 'Paused by an operator: nothing new goes out; what went out runs to its end.',
      on: {
        RESUME: [
          { guard: 'outsideWindow', target: 'waiting_window', actions: [{ type: 'persist', params: { cause: 'resumed' } }] },
          { guard: 'canaryAhead', target: 'canary', actions: [{ type: 'persist', params: { cause: 'resumed' } }] },
          { target: 'rolling_out', actions: [{ type: 'persist', params: { cause: 'resumed' } }] },
        ],
      },
    },
    completed: { type: 'final', description: 'Every target finished.', entry: ['retire'] },
    aborted: { type: 'final', description: 'Its abort criteria were met: what had not been delivered was cancelled.', entry: ['retire'] },
    cancelled: { type: 'final', description: 'Cancelled by an operator: what had not been delivered was cancelled.', entry: ['retire'] },
    ended: { type: 'final', description: 'Its end time passed: nothing new went out after it (and with `cancel`, what had not been delivered was cancelled).', entry: ['retire'] },
  },
});
