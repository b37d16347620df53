/**
 * Tests of the job lifecycle (machines/job.machine.ts): every state against every event of a finite
 * alphabet that takes both sides of the guards, the expected next state written out literally from the
 * design (never derived from the machine), then the effects each transition names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, transition, type SnapshotFrom } from 'xstate';
import { jobMachine, type JobMachineContext, type JobMachineEvent, type JobProgress } from '../../machines/job.machine.js';
import { JOB_STATUSES } from '../../src/domain/job.js';

const STATES = JOB_STATUSES;
type StateName = (typeof STATES)[number];
const FINAL = ['completed', 'aborted', 'cancelled', 'ended'] as const satisfies readonly StateName[];
const isFinal = (state: StateName): state is (typeof FINAL)[number] => (FINAL as readonly StateName[]).includes(state);

/** A canary of 5 awaiting approval, maintenance windows (closed now), abort at 20 % failures once 10 finished, `cancel` at the end. */
const CONTEXT: JobMachineContext = {
  canaryTargets: 5,
  canaryThen: 'approve',
  canaryPassed: false,
  abort: [{ on: 'failure', thresholdPercent: 20, minFinished: 10 }],
  hasWindows: true,
  windowOpen: false,
  endBehavior: 'cancel',
  abortReason: null,
};

const progress = (p: Partial<JobProgress>): JobMachineEvent => ({
  type: 'PROGRESS',
  at: 5,
  finished: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  canaryFinished: 0,
  canarySucceeded: 0,
  done: false,
  ...p,
});

const EVENTS = {
  START: { type: 'START', at: 1 },
  WINDOW_OPENED: { type: 'WINDOW_OPENED', at: 2 },
  WINDOW_CLOSED: { type: 'WINDOW_CLOSED', at: 3 },
  PAUSE: { type: 'PAUSE', at: 4, by: 'user:ops' },
  RESUME: { type: 'RESUME', at: 4, by: 'user:ops' },
  APPROVE: { type: 'APPROVE', at: 4, by: 'user:ops' },
  CANCEL: { type: 'CANCEL', at: 4, by: 'user:ops' },
  END: { type: 'END', at: 9 },
  /** Nothing finished yet. */
  PROGRESS_QUIET: progress({}),
  /** 10 finished, 3 failed: 30 %, over the threshold at its minimum. */
  PROGRESS_ABORT: progress({ finished: 10, succeeded: 7, failed: 3, canaryFinished: 5, canarySucceeded: 5 }),
  /** 9 finished, 9 failed: over the threshold, under the minimum. */
  PROGRESS_UNDER_MINIMUM: progress({ finished: 9, failed: 9, canaryFinished: 5 }),
  /** The canary's 5 finished and succeeded; the rest not started. */
  PROGRESS_CANARY_DONE: progress({ finished: 5, succeeded: 5, canaryFinished: 5, canarySucceeded: 5 }),
  /** Every target finished, all succeeded. */
  PROGRESS_DONE: progress({ finished: 20, succeeded: 20, canaryFinished: 5, canarySucceeded: 5, done: true }),
} satisfies Record<string, JobMachineEvent>;
type EventName = keyof typeof EVENTS;
const EVENT_NAMES = Object.keys(EVENTS) as EventName[];

/** Events every live state treats alike (CANCEL, END and an abort apply anywhere). */
const ANYWHERE = { CANCEL: 'cancelled', END: 'ended', PROGRESS_ABORT: 'aborted' } as const;

/** The design, literally: state × event → next state (an event not listed leaves the state as it is). */
const TRANSITIONS: Record<Exclude<StateName, (typeof FINAL)[number]>, Partial<Record<EventName, StateName>>> = {
  scheduled: { ...ANYWHERE, START: 'waiting_window' },
  waiting_window: { ...ANYWHERE, WINDOW_OPENED: 'canary', PAUSE: 'paused' },
  // The canary finished (failures under the abort's minimum count as finished too): an operator decides.
  canary: {
    ...ANYWHERE,
    WINDOW_CLOSED: 'waiting_window',
    PAUSE: 'paused',
    PROGRESS_CANARY_DONE: 'awaiting_approval',
    PROGRESS_UNDER_MINIMUM: 'awaiting_approval',
    PROGRESS_DONE: 'completed',
  },
  // Approved while outside every window: the rest waits for one.
  awaiting_approval: { ...ANYWHERE, APPROVE: 'waiting_window' },
  rolling_out: { ...ANYWHERE, WINDOW_CLOSED: 'waiting_window', PAUSE: 'paused', PROGRESS_DONE: 'completed' },
  paused: { ...ANYWHERE, RESUME: 'waiting_window' },
};

/** How each final state is reached (a snapshot there is done, as a live actor's is). */
const REACHED: Record<(typeof FINAL)[number], [StateName, EventName]> = {
  completed: ['rolling_out', 'PROGRESS_DONE'],
  aborted: ['rolling_out', 'PROGRESS_ABORT'],
  cancelled: ['paused', 'CANCEL'],
  ended: ['rolling_out', 'END'],
};

function at(state: StateName, context: Partial<JobMachineContext> = {}): SnapshotFrom<typeof jobMachine> {
  if (isFinal(state)) {
    const [from, event] = REACHED[state];
    return transition(jobMachine, at(from, context), EVENTS[event])[0];
  }
  return jobMachine.resolveState({ value: state, context: { ...CONTEXT, ...context } });
}

describe('job machine: every state × every event', () => {
  for (const state of STATES) {
    if (isFinal(state)) continue;
    test(`${state}`, () => {
      for (const name of EVENT_NAMES) {
        const next: SnapshotFrom<typeof jobMachine> = transition(jobMachine, at(state), EVENTS[name])[0];
        assert.equal(next.value, TRANSITIONS[state][name] ?? state, `${state} + ${name}`);
      }
    });
  }
  test('a final state is done: its actor takes no event any more', () => {
    for (const state of FINAL) {
      const actor = createActor(jobMachine, { snapshot: at(state), input: undefined }).start();
      assert.equal(actor.getSnapshot().status, 'done', state);
      for (const name of EVENT_NAMES) actor.send(EVENTS[name]);
      assert.equal(actor.getSnapshot().value, state);
    }
  });
});

describe('job machine: the guards, the other side', () => {
  test('no windows, no canary: START goes straight to rolling_out', () => {
    const [next] = transition(jobMachine, at('scheduled', { hasWindows: false, canaryTargets: 0 }), EVENTS.START);
    assert.equal(next.value, 'rolling_out');
  });
  test('inside a window with a canary ahead: START, RESUME and WINDOW_OPENED go to the canary; once passed, to rolling_out', () => {
    assert.equal(transition(jobMachine, at('scheduled', { windowOpen: true }), EVENTS.START)[0].value, 'canary');
    assert.equal(transition(jobMachine, at('paused', { windowOpen: true }), EVENTS.RESUME)[0].value, 'canary');
    assert.equal(transition(jobMachine, at('paused', { windowOpen: true, canaryPassed: true }), EVENTS.RESUME)[0].value, 'rolling_out');
    assert.equal(transition(jobMachine, at('waiting_window', { canaryPassed: true }), EVENTS.WINDOW_OPENED)[0].value, 'rolling_out');
    assert.equal(transition(jobMachine, at('awaiting_approval', { windowOpen: true }), EVENTS.APPROVE)[0].value, 'rolling_out');
  });
  test('an automatic canary: on at its success rate, to an operator below it', () => {
    const auto = { canaryThen: { autoAtSuccessPercent: 80 } } as const;
    assert.equal(transition(jobMachine, at('canary', auto), progress({ finished: 5, succeeded: 4, failed: 1, canaryFinished: 5, canarySucceeded: 4 }))[0].value, 'rolling_out');
    assert.equal(
      transition(jobMachine, at('canary', auto), progress({ finished: 5, succeeded: 3, failed: 2, canaryFinished: 5, canarySucceeded: 3 }))[0].value,
      'awaiting_approval',
    );
    const [passed] = transition(jobMachine, at('canary', auto), progress({ finished: 5, succeeded: 5, canaryFinished: 5, canarySucceeded: 5 }));
    assert.equal(passed.context.canaryPassed, true);
  });
  test('abort criteria by failure type: timed_out counts only time-outs, any counts every finish without success', () => {
    const timedOut = { abort: [{ on: 'timed_out' as const, thresholdPercent: 50, minFinished: 2 }] };
    assert.equal(transition(jobMachine, at('rolling_out', timedOut), progress({ finished: 4, failed: 4 }))[0].value, 'rolling_out');
    assert.equal(transition(jobMachine, at('rolling_out', timedOut), progress({ finished: 4, timedOut: 2 }))[0].value, 'aborted');
    const any = { abort: [{ on: 'any' as const, thresholdPercent: 50, minFinished: 2 }] };
    assert.equal(transition(jobMachine, at('rolling_out', any), progress({ finished: 4, succeeded: 2, failed: 1 }))[0].value, 'aborted');
    assert.equal(transition(jobMachine, at('rolling_out', any), progress({ finished: 4, succeeded: 3, failed: 1 }))[0].value, 'rolling_out');
  });
  test('window edges are noted in every state, whatever it does with them', () => {
    assert.equal(transition(jobMachine, at('paused'), EVENTS.WINDOW_OPENED)[0].context.windowOpen, true);
    assert.equal(transition(jobMachine, at('scheduled', { windowOpen: true }), EVENTS.WINDOW_CLOSED)[0].context.windowOpen, false);
  });
});

describe('job machine: the effects each transition names', () => {
  // What `transition` returns to run: the named effects (context assignments are applied, not returned).
  const named = (state: StateName, event: JobMachineEvent, context: Partial<JobMachineContext> = {}) =>
    transition(jobMachine, at(state, context), event)[1].map((a) => (a.type === 'persist' ? `persist:${(a.params as { cause: string }).cause}` : a.type));

  test('an abort records why, cancels what was not delivered, is stored, and retires the job', () => {
    assert.deepEqual(named('rolling_out', EVENTS.PROGRESS_ABORT), ['cancelUndelivered', 'persist:aborted', 'retire']);
    const [aborted] = transition(jobMachine, at('rolling_out'), EVENTS.PROGRESS_ABORT);
    assert.match(aborted.context.abortReason!, /^3 of 10 finished targets \(30 %\) ended failure/);
  });
  test('cancel cancels what was not delivered; the end does so only with end_behavior cancel', () => {
    assert.deepEqual(named('paused', EVENTS.CANCEL), ['cancelUndelivered', 'persist:cancelled', 'retire']);
    assert.deepEqual(named('rolling_out', EVENTS.END), ['cancelUndelivered', 'persist:ended', 'retire']);
    assert.deepEqual(named('rolling_out', EVENTS.END, { endBehavior: 'stop_rollout' }), ['persist:ended', 'retire']);
  });
  test('every change of state is stored with its cause; progress that changes nothing stores nothing', () => {
    assert.deepEqual(named('scheduled', EVENTS.START), ['persist:started']);
    assert.deepEqual(named('canary', EVENTS.PROGRESS_CANARY_DONE), ['persist:canary_finished']);
    assert.deepEqual(named('awaiting_approval', EVENTS.APPROVE, { windowOpen: true }), ['persist:approved']);
    assert.deepEqual(named('rolling_out', EVENTS.PAUSE), ['persist:paused']);
    assert.deepEqual(named('rolling_out', EVENTS.PROGRESS_DONE), ['persist:completed', 'retire']);
    assert.deepEqual(named('rolling_out', EVENTS.PROGRESS_QUIET), []);
    assert.deepEqual(named('rolling_out', EVENTS.PROGRESS_UNDER_MINIMUM), []);
  });
  test('the tags the driver reads: releasing in canary and rolling_out only, canary in canary only', () => {
    for (const state of STATES) {
      const snapshot = at(state);
      assert.equal(snapshot.hasTag('releasing'), state === 'canary' || state === 'rolling_out', state);
      assert.equal(snapshot.hasTag('canary'), state === 'canary', state);
    }
  });
});
