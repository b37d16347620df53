/** Model-based tests of one agent WebSocket connection (machines/websocket-subscription.machine.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, transition } from 'xstate';
import { createTestModel, getAdjacencyMap, getSimplePaths } from 'xstate/graph';
import {
  webSocketSubscriptionMachine,
  type WebSocketSubscriptionEvent,
} from '../../machines/websocket-subscription.machine.js';

const EVENTS: WebSocketSubscriptionEvent[] = [{ type: 'CLOSED' }, { type: 'DRAIN' }];

describe('websocket subscription: graph', () => {
  test('every simple path, literally', () => {
    const paths = getSimplePaths(webSocketSubscriptionMachine, { events: EVENTS });
    const described = paths.map((p) => [...p.steps.slice(1).map((s) => s.event.type), String(p.state.value)].join(' → '));
    assert.deepEqual(described.sort(), ['CLOSED → closed', 'DRAIN → closed', 'open']);
  });

  test('the transition table, literally; closed accepts nothing', () => {
    const adjacency = getAdjacencyMap(webSocketSubscriptionMachine, { events: EVENTS });
    const actual: Record<string, Record<string, string>> = {};
    for (const { state, transitions } of Object.values(adjacency)) {
      const row: Record<string, string> = {};
      for (const t of Object.values(transitions) as { event: WebSocketSubscriptionEvent; state: typeof state }[]) {
        row[t.event.type] = String(t.state.value);
      }
      actual[String(state.value)] = row;
    }
    assert.deepEqual(actual, {
      open: { CLOSED: 'closed', DRAIN: 'closed' },
      closed: { CLOSED: 'closed', DRAIN: 'closed' },
    });
  });
});

describe('websocket subscription: replayed on a real actor (createTestModel)', () => {
  const paths = createTestModel(webSocketSubscriptionMachine, { events: EVENTS }).getSimplePaths();

  test('the model generates one path per way of closing', () => {
    assert.deepEqual(paths.map((p) => p.steps.at(-1)?.event.type).sort(), ['CLOSED', 'DRAIN']);
  });

  for (const path of paths) {
    test(path.description, async () => {
      const actor = createActor(webSocketSubscriptionMachine).start();
      const send = (step: { event: WebSocketSubscriptionEvent }) => {
        actor.send(step.event);
      };
      await path.test({
        events: { CLOSED: send, DRAIN: send },
        states: {
          '*': (expected) => {
            assert.equal(actor.getSnapshot().value, expected.value);
            assert.equal(actor.getSnapshot().status, expected.status);
          },
        },
      });
      assert.equal(actor.getSnapshot().value, 'closed');
    });
  }
});

describe('websocket subscription: lifecycle', () => {
  test('starts open', () => {
    const actor = createActor(webSocketSubscriptionMachine).start();
    assert.equal(actor.getSnapshot().value, 'open');
    assert.equal(actor.getSnapshot().status, 'active');
  });

  for (const event of EVENTS) {
    test(`${event.type} closes it, and closed is final`, () => {
      const actor = createActor(webSocketSubscriptionMachine).start();
      actor.send(event);
      assert.equal(actor.getSnapshot().value, 'closed');
      assert.equal(actor.getSnapshot().status, 'done');
      for (const again of EVENTS) actor.send(again);
      assert.equal(actor.getSnapshot().value, 'closed');
    });
  }

  test('a restored closed snapshot accepts nothing', () => {
    const closed = webSocketSubscriptionMachine.resolveState({ value: 'closed' });
    assert.equal(closed.status, 'done');
    for (const event of EVENTS) {
      assert.equal(transition(webSocketSubscriptionMachine, closed, event)[0].value, 'closed');
    }
  });
});
