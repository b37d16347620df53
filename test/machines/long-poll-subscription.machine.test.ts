/**
 * Model-based tests of one held long-poll request (machines/long-poll-subscription.machine.ts).
 * Time is a SimulatedClock: the `after` timeout fires when the test advances the clock, never
 * by waiting. The effects it names are provided as fakes that record their calls.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock, transition, type SnapshotFrom } from 'xstate';
import { getAdjacencyMap, getSimplePaths, type StatePath } from 'xstate/graph';
import { longPollSubscriptionMachine, type LongPollEvent } from '../../machines/long-poll-subscription.machine.js';

type Snapshot = SnapshotFrom<typeof longPollSubscriptionMachine>;
const TIMEOUT_MS = 30_000;
const INPUT = { timeoutMs: TIMEOUT_MS };

// The `after` transition is an ordinary transition on this internal event type, so the graph
// utilities can take it like any other event; a real actor only gets it from its clock.
const TIMEOUT_EVENT_TYPE = 'xstate.after.longPollTimeout.longPollSubscription.waiting';
const TIMEOUT = { type: TIMEOUT_EVENT_TYPE } as unknown as LongPollEvent;
const HANDED: LongPollEvent = { type: 'HANDED', ids: ['c1', 'c2'] };
const RELEASED: LongPollEvent = { type: 'RELEASED', ids: ['c1'] };
const EVENTS: LongPollEvent[] = [HANDED, RELEASED, { type: 'CLOSED' }, { type: 'DRAIN' }, TIMEOUT];
const FINAL_STATES = ['answered', 'timed_out', 'client_gone', 'drained'];
// The in-flight set is a Set (JSON `{}`): the graph tells states apart by it through this.
const serializeState = (s: Snapshot) => JSON.stringify({ value: s.value, inFlight: [...s.context.inFlight] });

const nameOf = (event: { type: string }) => (event.type === TIMEOUT_EVENT_TYPE ? 'TIMEOUT' : event.type);
function describePath(path: StatePath<Snapshot, LongPollEvent>): string {
  const events = path.steps.slice(1).map((step) => nameOf(step.event));
  return [...events, String(path.state.value)].join(' → ');
}

/** An actor whose effects record `name(in-flight ids)`. */
function start(timeoutMs = TIMEOUT_MS) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const record =
    (name: string) =>
    ({ context }: { context: { inFlight: ReadonlySet<string> } }) =>
      void calls.push(`${name}(${[...context.inFlight].join(',')})`);
  const machine = longPollSubscriptionMachine.provide({
    actions: { detach: record('detach'), handBack: record('handBack'), answerTimeout: record('answerTimeout'), answerDrain: record('answerDrain') },
  });
  const actor = createActor(machine, { input: { timeoutMs }, clock }).start();
  return { clock, actor, calls };
}

describe('long-poll subscription: graph', () => {
  test('the delayed transition is keyed by the event type the model uses', () => {
    const after = [...longPollSubscriptionMachine.root.states.waiting!.after].map((t) => t.eventType);
    assert.deepEqual(after, [TIMEOUT_EVENT_TYPE]);
  });

  test('every simple path, literally', () => {
    const paths = getSimplePaths(longPollSubscriptionMachine, { input: INPUT, events: EVENTS, serializeState });
    assert.deepEqual(paths.map(describePath).sort(), [
      'CLOSED → client_gone',
      'DRAIN → drained',
      'HANDED → CLOSED → answered',
      'HANDED → DRAIN → drained',
      'HANDED → RELEASED → CLOSED → answered',
      'HANDED → RELEASED → DRAIN → drained',
      'HANDED → RELEASED → answering',
      'HANDED → answering',
      'TIMEOUT → timed_out',
      'waiting',
    ]);
  });

  test('the transition table, literally; final states accept nothing', () => {
    const expected: Record<string, Record<string, string>> = {
      waiting: { HANDED: 'answering', RELEASED: 'waiting', CLOSED: 'client_gone', DRAIN: 'drained', TIMEOUT: 'timed_out' },
      answering: { HANDED: 'answering', RELEASED: 'answering', CLOSED: 'answered', DRAIN: 'drained', TIMEOUT: 'answering' },
    };
    for (const final of FINAL_STATES) expected[final] = { HANDED: final, RELEASED: final, CLOSED: final, DRAIN: final, TIMEOUT: final };
    const adjacency = getAdjacencyMap(longPollSubscriptionMachine, { input: INPUT, events: EVENTS });
    const actual: Record<string, Record<string, string>> = {};
    for (const { state, transitions } of Object.values(adjacency)) {
      const row: Record<string, string> = {};
      for (const { event, state: next } of Object.values<{ event: LongPollEvent; state: Snapshot }>(transitions)) {
        row[nameOf(event)] = String(next.value);
      }
      actual[String(state.value)] = row;
      assert.equal(state.status, FINAL_STATES.includes(String(state.value)) ? 'done' : 'active');
      assert.equal(state.hasTag('accepting'), state.value === 'waiting', `only a waiting poll accepts commands (${String(state.value)})`);
    }
    assert.deepEqual(actual, expected);
  });
});

describe('long-poll subscription: its effects, in order, replayed on a real actor with a simulated clock', () => {
  const EFFECTS: Record<string, string[]> = {
    waiting: [],
    'CLOSED → client_gone': ['detach()'],
    'DRAIN → drained': ['answerDrain()', 'detach()', 'handBack()'],
    'TIMEOUT → timed_out': ['detach()', 'answerTimeout()'],
    'HANDED → answering': ['detach(c1,c2)'],
    'HANDED → RELEASED → answering': ['detach(c1,c2)'],
    'HANDED → CLOSED → answered': ['detach(c1,c2)', 'detach(c1,c2)', 'handBack(c1,c2)'],
    'HANDED → DRAIN → drained': ['detach(c1,c2)', 'detach(c1,c2)', 'handBack(c1,c2)'],
    'HANDED → RELEASED → CLOSED → answered': ['detach(c1,c2)', 'detach(c2)', 'handBack(c2)'],
    'HANDED → RELEASED → DRAIN → drained': ['detach(c1,c2)', 'detach(c2)', 'handBack(c2)'],
  };
  for (const path of getSimplePaths(longPollSubscriptionMachine, { input: INPUT, events: EVENTS, serializeState })) {
    const label = describePath(path);
    test(label, () => {
      const { clock, actor, calls } = start();
      for (const step of path.steps.slice(1)) {
        // The timeout is never sent: the clock is advanced to it.
        if (nameOf(step.event) === 'TIMEOUT') clock.increment(TIMEOUT_MS);
        else actor.send(step.event);
        assert.equal(actor.getSnapshot().value, step.state.value);
      }
      assert.deepEqual(calls, EFFECTS[label]);
      actor.stop();
    });
  }
});

describe('long-poll subscription: timeout', () => {
  test('still waiting just before the timeout, timed_out exactly at it', () => {
    const { clock, actor } = start();
    clock.increment(TIMEOUT_MS - 1);
    assert.equal(actor.getSnapshot().value, 'waiting');
    clock.increment(1);
    assert.equal(actor.getSnapshot().value, 'timed_out');
    assert.equal(actor.getSnapshot().status, 'done');
  });

  test('the delay is the context timeoutMs (jitter applied by the caller)', () => {
    const { clock, actor } = start(1_234);
    clock.set(1_233);
    assert.equal(actor.getSnapshot().value, 'waiting');
    clock.set(1_234);
    assert.equal(actor.getSnapshot().value, 'timed_out');
  });

  test('a poll handed commands no longer times out: it is answering', () => {
    const { clock, actor, calls } = start();
    actor.send(HANDED);
    clock.increment(TIMEOUT_MS * 2);
    assert.equal(actor.getSnapshot().value, 'answering');
    assert.deepEqual(calls, ['detach(c1,c2)']);
  });
});

describe('long-poll subscription: endings are final', () => {
  test('nothing leaves any final state (sent events, pure transitions, or time)', () => {
    for (const final of FINAL_STATES) {
      const snapshot: Snapshot = longPollSubscriptionMachine.resolveState({ value: final, context: { ...INPUT, inFlight: new Set() } });
      for (const event of EVENTS) {
        const [next] = transition(longPollSubscriptionMachine, snapshot, event);
        assert.equal(next.value, final, `${final} --${nameOf(event)}-->`);
      }
    }
    const { clock, actor } = start();
    clock.increment(TIMEOUT_MS);
    for (const event of EVENTS.filter((e) => e !== TIMEOUT)) actor.send(event);
    clock.increment(TIMEOUT_MS);
    assert.equal(actor.getSnapshot().value, 'timed_out');
  });
});
