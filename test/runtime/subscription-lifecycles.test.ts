/**
 * A WebSocket subscription's stepped lifecycle must run its machine as an actor would: on every path
 * of events, the same effects (by name, with what it held), and the same state afterwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { webSocketSubscriptionMachine, type WebSocketSubscriptionEvent } from '../../machines/websocket-subscription.machine.js';
import { SteppedLifecycle, type WebSocketEffects } from '../../src/runtime/subscription-lifecycles.js';
import { Subscription } from '../../src/runtime/subscription.js';

const EVENTS: WebSocketSubscriptionEvent[] = [
  { type: 'HANDED', ids: ['c1', 'c2'] },
  { type: 'HANDED', ids: ['c3'] },
  { type: 'RELEASED', ids: ['c1'] },
  { type: 'RELEASED', ids: ['c9'] },
  { type: 'CLOSED' },
  { type: 'DRAIN' },
];

const transport = { push: () => {}, drain: () => {} };

function viaActor(events: WebSocketSubscriptionEvent[]) {
  const calls: string[] = [];
  const record =
    (name: string) =>
    ({ context }: { context: { inFlight: ReadonlySet<string> } }) =>
      void calls.push(`${name}(${[...context.inFlight].join(',')})`);
  const actor = createActor(
    webSocketSubscriptionMachine.provide({ actions: { detach: record('detach'), handBack: record('handBack'), answerDrain: record('answerDrain') } }),
  ).start();
  for (const event of events) actor.send(event);
  const snapshot = actor.getSnapshot();
  return { calls, inFlight: [...snapshot.context.inFlight], active: snapshot.status === 'active', accepting: snapshot.hasTag('accepting') };
}

function stepped(events: WebSocketSubscriptionEvent[]) {
  const calls: string[] = [];
  const sub = new Subscription('agent:a1', 'websocket', 'agent:a1', 0, transport);
  const held = () => [...sub.inFlight].join(',');
  const effects: WebSocketEffects = {
    detach: (s) => void calls.push(`detach(${s === sub ? held() : 'another'})`),
    handBack: (s, inFlight) => void calls.push(`handBack(${s === sub ? [...inFlight].join(',') : 'another'})`),
    answerDrain: (s) => void calls.push(`answerDrain(${s === sub ? held() : 'another'})`),
  };
  sub.lifecycle = new SteppedLifecycle(sub, effects, (error) => assert.fail(String(error)), null);
  for (const event of events) sub.send(event);
  return { calls, inFlight: [...sub.inFlight], active: !sub.closed, accepting: sub.lifecycle.accepting };
}

describe('SteppedLifecycle (WebSocket)', () => {
  test('on every path it runs the effects an actor of the machine runs, and ends in the same state', () => {
    const paths = getSimplePaths(webSocketSubscriptionMachine, { events: EVENTS, serializeState: (s) => JSON.stringify([s.value, [...s.context.inFlight].sort()]) });
    assert.ok(paths.length >= 8, `${paths.length} paths`);
    for (const path of paths) {
      const events = path.steps.slice(1).map((s) => s.event);
      // Every event again after the path: a closed subscription takes none.
      const all = [...events, ...EVENTS];
      assert.deepEqual(stepped(all), viaActor(all), events.map((e) => e.type).join(' → '));
    }
  });

  test('every effect the machine names is one the stepped lifecycle runs, and nothing else', () => {
    const named = new Set<string>();
    for (const node of Object.values(webSocketSubscriptionMachine.root.states)) {
      for (const a of [...node.entry, ...node.exit]) if (typeof a === 'string') named.add(a);
      for (const transitions of node.transitions.values()) for (const t of transitions) for (const a of t.actions) if (typeof a === 'string') named.add(a);
    }
    const assigns = new Set(['hold', 'settle']);
    const effects: Record<keyof WebSocketEffects, true> = { detach: true, handBack: true, answerDrain: true };
    assert.deepEqual([...named].filter((n) => !assigns.has(n)).sort(), Object.keys(effects).sort());
  });

  test('a stopped lifecycle takes no more events and runs nothing', () => {
    const calls: string[] = [];
    const sub = new Subscription('agent:a1', 'websocket', 'agent:a1', 0, transport);
    sub.lifecycle = new SteppedLifecycle(
      sub,
      { detach: () => void calls.push('detach'), handBack: () => void calls.push('handBack'), answerDrain: () => void calls.push('answerDrain') },
      (error) => assert.fail(String(error)),
      null,
    );
    sub.send({ type: 'HANDED', ids: ['c1'] });
    sub.lifecycle.stop();
    sub.send({ type: 'CLOSED' });
    assert.deepEqual(calls, []);
    assert.equal(sub.closed, true);
    assert.equal(sub.room, 0);
  });
});
