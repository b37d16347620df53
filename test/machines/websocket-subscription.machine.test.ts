/**
 * Model-based tests of one agent WebSocket connection (machines/websocket-subscription.machine.ts).
 * The effects it names are provided as fakes that record their calls.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, type SnapshotFrom } from 'xstate';
import { getAdjacencyMap, getSimplePaths } from 'xstate/graph';
import { webSocketSubscriptionMachine, type WebSocketSubscriptionEvent } from '../../machines/websocket-subscription.machine.js';

type Snapshot = SnapshotFrom<typeof webSocketSubscriptionMachine>;
const EVENTS: WebSocketSubscriptionEvent[] = [{ type: 'HANDED', ids: ['c1', 'c2'] }, { type: 'RELEASED', ids: ['c1'] }, { type: 'CLOSED' }, { type: 'DRAIN' }];
const serializeState = (s: Snapshot) => JSON.stringify({ value: s.value, inFlight: [...s.context.inFlight] });
const describe_ = (p: { steps: { event: WebSocketSubscriptionEvent }[]; state: Snapshot }) => [...p.steps.slice(1).map((s) => s.event.type), String(p.state.value)].join(' → ');

function start() {
  const calls: string[] = [];
  const record =
    (name: string) =>
    ({ context }: { context: { inFlight: ReadonlySet<string> } }) =>
      void calls.push(`${name}(${[...context.inFlight].join(',')})`);
  const machine = webSocketSubscriptionMachine.provide({ actions: { detach: record('detach'), handBack: record('handBack'), answerDrain: record('answerDrain') } });
  return { actor: createActor(machine).start(), calls };
}

describe('websocket subscription: graph', () => {
  test('the transition table, literally; closed accepts nothing', () => {
    const adjacency = getAdjacencyMap(webSocketSubscriptionMachine, { events: EVENTS });
    const actual: Record<string, Record<string, string>> = {};
    for (const { state, transitions } of Object.values(adjacency)) {
      const row: Record<string, string> = {};
      for (const t of Object.values<{ event: WebSocketSubscriptionEvent; state: typeof state }>(transitions)) row[t.event.type] = String(t.state.value);
      actual[String(state.value)] = row;
      assert.equal(state.hasTag('accepting'), state.value === 'open');
    }
    assert.deepEqual(actual, {
      open: { HANDED: 'open', RELEASED: 'open', CLOSED: 'closed', DRAIN: 'closed' },
      closed: { HANDED: 'closed', RELEASED: 'closed', CLOSED: 'closed', DRAIN: 'closed' },
    });
  });

  test('it holds what it is handed until each is released', () => {
    const { actor } = start();
    actor.send({ type: 'HANDED', ids: ['a', 'b'] });
    actor.send({ type: 'HANDED', ids: ['c'] });
    actor.send({ type: 'RELEASED', ids: ['b'] });
    actor.send({ type: 'RELEASED', ids: ['unknown'] });
    assert.deepEqual([...actor.getSnapshot().context.inFlight], ['a', 'c']);
    actor.send({ type: 'RELEASED', ids: ['a', 'c'] });
    assert.deepEqual([...actor.getSnapshot().context.inFlight], []);
  });
});

describe('websocket subscription: its effects, in order, on every simple path', () => {
  const EFFECTS: Record<string, string[]> = {
    open: [],
    'CLOSED → closed': ['detach()', 'handBack()'],
    'DRAIN → closed': ['answerDrain()', 'detach()', 'handBack()'],
    'HANDED → open': [],
    'HANDED → RELEASED → open': [],
    'HANDED → CLOSED → closed': ['detach(c1,c2)', 'handBack(c1,c2)'],
    'HANDED → DRAIN → closed': ['answerDrain(c1,c2)', 'detach(c1,c2)', 'handBack(c1,c2)'],
    'HANDED → RELEASED → CLOSED → closed': ['detach(c2)', 'handBack(c2)'],
    'HANDED → RELEASED → DRAIN → closed': ['answerDrain(c2)', 'detach(c2)', 'handBack(c2)'],
    // Handed c1 again after it was released (it went back to pending and was claimed anew).
    'HANDED → RELEASED → HANDED → open': [],
    'HANDED → RELEASED → HANDED → CLOSED → closed': ['detach(c2,c1)', 'handBack(c2,c1)'],
    'HANDED → RELEASED → HANDED → DRAIN → closed': ['answerDrain(c2,c1)', 'detach(c2,c1)', 'handBack(c2,c1)'],
  };
  const paths = getSimplePaths(webSocketSubscriptionMachine, { events: EVENTS, serializeState });

  test('the paths, literally', () => {
    assert.deepEqual(paths.map(describe_).sort(), Object.keys(EFFECTS).sort());
  });

  for (const path of paths) {
    const label = describe_(path);
    test(label, () => {
      const { actor, calls } = start();
      for (const step of path.steps.slice(1)) actor.send(step.event);
      assert.equal(actor.getSnapshot().value, path.state.value);
      assert.deepEqual(calls, EFFECTS[label]);
      actor.stop();
    });
  }
});
