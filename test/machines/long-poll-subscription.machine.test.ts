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
const ACKING = { timeoutMs: TIMEOUT_MS, acking: true };

// The `after` transition is an ordinary transition on this internal event type, so the graph
// utilities can take it like any other event; a real actor only gets it from its clock.
const TIMEOUT_EVENT_TYPE = 'xstate.after.longPollTimeout.longPollSubscription.waiting';
const TIMEOUT = { type: TIMEOUT_EVENT_TYPE } as unknown as LongPollEvent;
const HANDED: LongPollEvent = { type: 'HANDED', ids: ['c1', 'c2'] };
const RELEASED: LongPollEvent = { type: 'RELEASED', ids: ['c1'] };
/** The agent's next poll names c2, one of the two it was handed. */
const ACKED: LongPollEvent = { type: 'ACKED', ids: ['c2', 'c9'] };
const EVENTS: LongPollEvent[] = [HANDED, RELEASED, { type: 'WRITTEN' }, ACKED, { type: 'CLOSED' }, { type: 'DRAIN' }, TIMEOUT];
const FINAL_STATES = ['answered', 'acknowledged', 'timed_out', 'client_gone', 'drained'];
// The in-flight set is a Set (JSON `{}`): the graph tells states apart by it through this.
const serializeState = (s: Snapshot) => JSON.stringify({ value: s.value, inFlight: [...s.context.inFlight] });

const nameOf = (event: { type: string }) => (event.type === TIMEOUT_EVENT_TYPE ? 'TIMEOUT' : event.type);
function describePath(path: StatePath<Snapshot, LongPollEvent>): string {
  const events = path.steps.slice(1).map((step) => nameOf(step.event));
  return [...events, String(path.state.value)].join(' → ');
}

/** An actor whose effects record `name(in-flight ids)` (`confirmDelivery` records the ids it is given). */
function start(input: { timeoutMs: number; acking?: boolean } = INPUT) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const record =
    (name: string) =>
    ({ context }: { context: { inFlight: ReadonlySet<string> } }) =>
      void calls.push(`${name}(${[...context.inFlight].join(',')})`);
  const machine = longPollSubscriptionMachine.provide({
    actions: {
      detach: record('detach'),
      handBack: record('handBack'),
      answerTimeout: record('answerTimeout'),
      answerDrain: record('answerDrain'),
      confirmDelivery: (_, { ids }) => void calls.push(`confirmDelivery[${ids.join(',')}]`),
    },
  });
  const actor = createActor(machine, { input, clock }).start();
  return { clock, actor, calls };
}

/** The paths both modes share: before the answer is written, and its client leaving or a drain while answering. */
const BOTH: Record<string, string[]> = {
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

/** Per mode, every simple path and the effects it runs, in order. */
const MODES = {
  'an agent that does not acknowledge (a Wazuh agent)': {
    input: INPUT,
    effects: {
      ...BOTH,
      // Written out is delivered.
      'HANDED → WRITTEN → answered': ['detach(c1,c2)', 'confirmDelivery[c1,c2]', 'detach()', 'handBack()'],
      'HANDED → RELEASED → WRITTEN → answered': ['detach(c1,c2)', 'confirmDelivery[c2]', 'detach()', 'handBack()'],
    } as Record<string, string[]>,
  },
  'an agent that acknowledges (its poll carried ack)': {
    input: ACKING,
    effects: {
      ...BOTH,
      // Written out is not delivered: it waits for the next poll, which confirms c2 and hands back c1.
      'HANDED → WRITTEN → awaiting_ack': ['detach(c1,c2)'],
      'HANDED → WRITTEN → RELEASED → awaiting_ack': ['detach(c1,c2)'],
      'HANDED → RELEASED → WRITTEN → awaiting_ack': ['detach(c1,c2)'],
      'HANDED → WRITTEN → ACKED → acknowledged': ['detach(c1,c2)', 'confirmDelivery[c2]', 'handBack(c1)'],
      'HANDED → ACKED → acknowledged': ['detach(c1,c2)', 'confirmDelivery[c2]', 'handBack(c1)'],
      'HANDED → RELEASED → ACKED → acknowledged': ['detach(c1,c2)', 'confirmDelivery[c2]', 'handBack()'],
      'HANDED → RELEASED → WRITTEN → ACKED → acknowledged': ['detach(c1,c2)', 'confirmDelivery[c2]', 'handBack()'],
      'HANDED → WRITTEN → RELEASED → ACKED → acknowledged': ['detach(c1,c2)', 'confirmDelivery[c2]', 'handBack()'],
      'HANDED → WRITTEN → DRAIN → drained': ['detach(c1,c2)', 'detach(c1,c2)', 'handBack(c1,c2)'],
      'HANDED → RELEASED → WRITTEN → DRAIN → drained': ['detach(c1,c2)', 'detach(c2)', 'handBack(c2)'],
      'HANDED → WRITTEN → RELEASED → DRAIN → drained': ['detach(c1,c2)', 'detach(c2)', 'handBack(c2)'],
    } as Record<string, string[]>,
  },
};

describe('long-poll subscription: graph', () => {
  test('the delayed transition is keyed by the event type the model uses', () => {
    const after = [...longPollSubscriptionMachine.root.states.waiting!.after].map((t) => t.eventType);
    assert.deepEqual(after, [TIMEOUT_EVENT_TYPE]);
  });

  for (const [mode, { input, effects }] of Object.entries(MODES)) {
    test(`${mode}: every simple path, literally`, () => {
      const paths = getSimplePaths(longPollSubscriptionMachine, { input, events: EVENTS, serializeState });
      assert.deepEqual(paths.map(describePath).sort(), Object.keys(effects).sort());
    });
  }

  test('the transition table, literally; final states accept nothing', () => {
    const same = (state: string) => Object.fromEntries(['HANDED', 'RELEASED', 'WRITTEN', 'ACKED', 'CLOSED', 'DRAIN', 'TIMEOUT'].map((e) => [e, state]));
    const tables = [
      {
        input: INPUT,
        expected: {
          waiting: { ...same('waiting'), HANDED: 'answering', CLOSED: 'client_gone', DRAIN: 'drained', TIMEOUT: 'timed_out' },
          answering: { ...same('answering'), WRITTEN: 'answered', CLOSED: 'answered', DRAIN: 'drained' },
        } as Record<string, Record<string, string>>,
      },
      {
        input: ACKING,
        expected: {
          waiting: { ...same('waiting'), HANDED: 'answering', CLOSED: 'client_gone', DRAIN: 'drained', TIMEOUT: 'timed_out' },
          answering: { ...same('answering'), WRITTEN: 'awaiting_ack', ACKED: 'acknowledged', CLOSED: 'answered', DRAIN: 'drained' },
          // The connection closing after the answer was written changes nothing: the next poll decides.
          awaiting_ack: { ...same('awaiting_ack'), ACKED: 'acknowledged', DRAIN: 'drained' },
        } as Record<string, Record<string, string>>,
      },
    ];
    for (const { input, expected } of tables) {
      for (const final of FINAL_STATES) expected[final] = same(final);
      const adjacency = getAdjacencyMap(longPollSubscriptionMachine, { input, events: EVENTS });
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
      for (const row of Object.keys(expected)) if (!(row in actual)) delete expected[row];
      assert.deepEqual(actual, expected);
    }
  });
});

for (const [mode, { input, effects }] of Object.entries(MODES)) {
  describe(`long-poll subscription, ${mode}: its effects, in order, replayed on a real actor with a simulated clock`, () => {
    for (const path of getSimplePaths(longPollSubscriptionMachine, { input, events: EVENTS, serializeState })) {
      const label = describePath(path);
      test(label, () => {
        const { clock, actor, calls } = start(input);
        for (const step of path.steps.slice(1)) {
          // The timeout is never sent: the clock is advanced to it.
          if (nameOf(step.event) === 'TIMEOUT') clock.increment(TIMEOUT_MS);
          else actor.send(step.event);
          assert.equal(actor.getSnapshot().value, step.state.value);
        }
        assert.deepEqual(calls, effects[label]);
        actor.stop();
      });
    }
  });
}

describe('long-poll subscription: acknowledgements', () => {
  test('an answer awaiting its acknowledgement whose commands all got results (released) ends: nothing to hand back', () => {
    const { actor, calls } = start(ACKING);
    actor.send(HANDED);
    actor.send({ type: 'WRITTEN' });
    actor.send({ type: 'RELEASED', ids: ['c1', 'c2'] });
    assert.equal(actor.getSnapshot().value, 'acknowledged');
    assert.deepEqual(calls, ['detach(c1,c2)', 'handBack()']);
  });

  test('an answer with no commands (every claim lost) ends once written', () => {
    const { actor } = start(ACKING);
    actor.send({ type: 'HANDED', ids: [] });
    actor.send({ type: 'WRITTEN' });
    assert.equal(actor.getSnapshot().value, 'acknowledged');
  });

  test('a poll that does not acknowledge ignores ACKED', () => {
    const { actor, calls } = start(INPUT);
    actor.send(HANDED);
    actor.send(ACKED);
    assert.equal(actor.getSnapshot().value, 'answering');
    assert.deepEqual(calls, ['detach(c1,c2)']);
  });
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
    const { clock, actor } = start({ timeoutMs: 1_234 });
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
      const snapshot: Snapshot = longPollSubscriptionMachine.resolveState({ value: final, context: { ...ACKING, inFlight: new Set() } });
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
