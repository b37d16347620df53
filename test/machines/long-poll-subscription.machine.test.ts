/**
 * Model-based tests of one held long-poll request (machines/long-poll-subscription.machine.ts).
 * Time is a SimulatedClock: the `after` timeout fires when the test advances the clock, never
 * by waiting.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock, transition, type SnapshotFrom } from 'xstate';
import { getAdjacencyMap, getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import { longPollSubscriptionMachine, type LongPollEvent } from '../../machines/long-poll-subscription.machine.js';

type Snapshot = SnapshotFrom<typeof longPollSubscriptionMachine>;
const TIMEOUT_MS = 30_000;
const INPUT = { timeoutMs: TIMEOUT_MS };

// The `after` transition is an ordinary transition on this internal event type, so the graph
// utilities can take it like any other event; a real actor only gets it from its clock.
const TIMEOUT_EVENT_TYPE = 'xstate.after.longPollTimeout.longPollSubscription.waiting';
const TIMEOUT = { type: TIMEOUT_EVENT_TYPE } as unknown as LongPollEvent;
const EVENTS: LongPollEvent[] = [{ type: 'ANSWER' }, { type: 'CLIENT_GONE' }, { type: 'DRAIN' }, TIMEOUT];
const FINAL_STATES = ['answered', 'timed_out', 'client_gone', 'drained'];

const nameOf = (event: { type: string }) => (event.type === TIMEOUT_EVENT_TYPE ? 'TIMEOUT' : event.type);
function describePath(path: StatePath<Snapshot, LongPollEvent>): string {
  const events = path.steps.slice(1).map((step) => nameOf(step.event));
  return [...events, String(path.state.value)].join(' → ');
}

function start(timeoutMs = TIMEOUT_MS) {
  const clock = new SimulatedClock();
  const actor = createActor(longPollSubscriptionMachine, { input: { timeoutMs }, clock }).start();
  return { clock, actor };
}

describe('long-poll subscription: graph', () => {
  test('the delayed transition is keyed by the event type the model uses', () => {
    const after = [...longPollSubscriptionMachine.root.states.waiting!.after].map((t) => t.eventType);
    assert.deepEqual(after, [TIMEOUT_EVENT_TYPE]);
  });

  test('every simple path, literally', () => {
    const paths = getSimplePaths(longPollSubscriptionMachine, { input: INPUT, events: EVENTS });
    assert.deepEqual(paths.map(describePath).sort(), [
      'ANSWER → answered',
      'CLIENT_GONE → client_gone',
      'DRAIN → drained',
      'TIMEOUT → timed_out',
      'waiting',
    ]);
  });

  test('shortest paths reach all five states in at most one event', () => {
    const paths = getShortestPaths(longPollSubscriptionMachine, { input: INPUT, events: EVENTS });
    assert.deepEqual(
      paths.map((p) => [String(p.state.value), p.steps.length - 1]).sort(),
      [['answered', 1], ['client_gone', 1], ['drained', 1], ['timed_out', 1], ['waiting', 0]],
    );
  });

  test('the transition table, literally; final states accept nothing', () => {
    const expected: Record<string, Record<string, string>> = {
      waiting: { ANSWER: 'answered', CLIENT_GONE: 'client_gone', DRAIN: 'drained', TIMEOUT: 'timed_out' },
      answered: { ANSWER: 'answered', CLIENT_GONE: 'answered', DRAIN: 'answered', TIMEOUT: 'answered' },
      timed_out: { ANSWER: 'timed_out', CLIENT_GONE: 'timed_out', DRAIN: 'timed_out', TIMEOUT: 'timed_out' },
      client_gone: { ANSWER: 'client_gone', CLIENT_GONE: 'client_gone', DRAIN: 'client_gone', TIMEOUT: 'client_gone' },
      drained: { ANSWER: 'drained', CLIENT_GONE: 'drained', DRAIN: 'drained', TIMEOUT: 'drained' },
    };
    const adjacency = getAdjacencyMap(longPollSubscriptionMachine, { input: INPUT, events: EVENTS });
    const actual: Record<string, Record<string, string>> = {};
    for (const { state, transitions } of Object.values(adjacency)) {
      const row: Record<string, string> = {};
      for (const { event, state: next } of Object.values(transitions) as { event: LongPollEvent; state: Snapshot }[]) {
        row[nameOf(event)] = String(next.value);
      }
      actual[String(state.value)] = row;
      assert.equal(state.status, FINAL_STATES.includes(String(state.value)) ? 'done' : 'active');
    }
    assert.deepEqual(actual, expected);
  });
});

describe('long-poll subscription: replayed on a real actor with a simulated clock', () => {
  for (const path of getSimplePaths(longPollSubscriptionMachine, { input: INPUT, events: EVENTS })) {
    test(describePath(path), () => {
      const { clock, actor } = start();
      for (const step of path.steps.slice(1)) {
        // The timeout is never sent: the clock is advanced to it.
        if (nameOf(step.event) === 'TIMEOUT') clock.increment(TIMEOUT_MS);
        else actor.send(step.event);
        assert.equal(actor.getSnapshot().value, step.state.value);
      }
      assert.equal(actor.getSnapshot().value, path.state.value);
      actor.stop();
    });
  }
});

describe('long-poll subscription: timeout', () => {
  test('still waiting just before the timeout, timed_out exactly at it', () => {
    const { clock, actor } = start();
    clock.increment(TIMEOUT_MS - 1);
    assert.equal(actor.getSnapshot().value, 'waiting');
    assert.equal(actor.getSnapshot().status, 'active');
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

  test('the timeout runs from the start of the actor, not from the clock origin', () => {
    const clock = new SimulatedClock();
    clock.set(50_000);
    const actor = createActor(longPollSubscriptionMachine, { input: INPUT, clock }).start();
    clock.increment(TIMEOUT_MS - 1);
    assert.equal(actor.getSnapshot().value, 'waiting');
    clock.increment(1);
    assert.equal(actor.getSnapshot().value, 'timed_out');
  });
});

describe('long-poll subscription: endings are final', () => {
  for (const [event, final] of [
    ['ANSWER', 'answered'],
    ['CLIENT_GONE', 'client_gone'],
    ['DRAIN', 'drained'],
  ] as const) {
    test(`${event} ends it in ${final}, and the timeout no longer fires`, () => {
      const { clock, actor } = start();
      clock.increment(TIMEOUT_MS / 2);
      actor.send({ type: event });
      assert.equal(actor.getSnapshot().value, final);
      assert.equal(actor.getSnapshot().status, 'done');
      clock.increment(TIMEOUT_MS * 2);
      assert.equal(actor.getSnapshot().value, final);
    });
  }

  test('nothing leaves any final state (sent events, pure transitions, or time)', () => {
    for (const final of FINAL_STATES) {
      const snapshot: Snapshot = longPollSubscriptionMachine.resolveState({ value: final, context: INPUT });
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
