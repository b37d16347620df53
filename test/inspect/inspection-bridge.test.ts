import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, setup, type InspectionEvent } from 'xstate';
import { InspectionBridge } from '../../src/inspect/inspection-bridge.js';
import { redact, REDACTED } from '../../src/inspect/redact.js';
import { RingBuffer } from '../../src/inspect/ring-buffer.js';

const toggle = setup({ types: { events: {} as { type: 'FLIP'; password?: string } } }).createMachine({
  id: 'toggle',
  initial: 'off',
  states: { off: { on: { FLIP: 'on' } }, on: { on: { FLIP: 'off' } } },
});

/** Lets pending setImmediate flushes run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function viewer(bridge: InspectionBridge) {
  const received: Record<string, unknown>[] = [];
  const detach = bridge.attach((json) => received.push(JSON.parse(json) as Record<string, unknown>));
  return { received, detach };
}

describe('inspection bridge', () => {
  test('with no viewer connected, the observer keeps nothing', async () => {
    const bridge = new InspectionBridge();
    const actor = createActor(toggle, { inspect: bridge.observer }).start();
    actor.send({ type: 'FLIP' });
    await settle();
    assert.deepEqual(bridge.stats(), { viewers: 0, buffered: 0, sent: 0, dropped: 0, sampledOut: 0, failed: 0 });
  });

  test('sends actor, event and snapshot messages only (no microsteps or actions)', async () => {
    const bridge = new InspectionBridge();
    const { received, detach } = viewer(bridge);
    const actor = createActor(toggle, { inspect: bridge.observer }).start();
    actor.send({ type: 'FLIP' });
    await settle();
    assert.deepEqual(
      received.map((m) => m.type),
      ['@xstate.actor', '@xstate.event', '@xstate.snapshot', '@xstate.event', '@xstate.snapshot'],
    );
    assert.deepEqual(received.at(-1)!.snapshot, { status: 'active', value: 'on', context: {}, children: {} });
    detach();
  });

  test('follows at most newActorsPerSecond new actors; the others are counted, not sent', async () => {
    const bridge = new InspectionBridge({ newActorsPerSecond: 3 });
    const { received, detach } = viewer(bridge);
    for (let i = 0; i < 10; i++) createActor(toggle, { inspect: bridge.observer }).start().send({ type: 'FLIP' });
    await settle();
    assert.equal(new Set(received.map((m) => m.sessionId)).size, 3);
    assert.equal(bridge.stats().sampledOut, 7);
    detach();
  });

  test('memory is bounded: beyond capacity the oldest events are dropped and counted', async () => {
    const bridge = new InspectionBridge({ capacity: 4 });
    const { received, detach } = viewer(bridge);
    const actor = createActor(toggle, { inspect: bridge.observer }).start();
    for (let i = 0; i < 10; i++) actor.send({ type: 'FLIP' }); // synchronous: no flush in between
    assert.equal(bridge.stats().buffered, 4);
    await settle();
    assert.equal(received.length, 4);
    assert.equal(bridge.stats().dropped, 1 + 2 + 20 - 4);
    detach();
  });

  test('announces live actors to a viewer that connects later', async () => {
    const actors = [createActor(toggle).start(), createActor(toggle).start()];
    const bridge = new InspectionBridge({ liveActors: () => actors, announceOnConnect: 1 });
    const { received, detach } = viewer(bridge);
    await settle();
    assert.equal(received.length, 1);
    assert.equal(received[0]!.type, '@xstate.actor');
    assert.equal(received[0]!.sessionId, actors[0]!.sessionId);
    detach();
  });

  test('the observer never throws, whatever it is given', () => {
    const bridge = new InspectionBridge();
    const { detach } = viewer(bridge);
    assert.doesNotThrow(() => bridge.observer(null as unknown as InspectionEvent));
    assert.doesNotThrow(() => bridge.observer({ type: '@xstate.snapshot' } as unknown as InspectionEvent));
    detach();
  });

  test('a failing viewer does not stop the others', async () => {
    const bridge = new InspectionBridge();
    bridge.attach(() => {
      throw new Error('broken viewer');
    });
    const { received } = viewer(bridge);
    createActor(toggle, { inspect: bridge.observer }).start();
    await settle();
    assert.ok(received.length > 0);
  });

  test('events are redacted: secret-looking fields never leave', async () => {
    const bridge = new InspectionBridge();
    const { received, detach } = viewer(bridge);
    createActor(toggle, { inspect: bridge.observer }).start().send({ type: 'FLIP', password: 'hunter2' });
    await settle();
    const text = JSON.stringify(received);
    assert.ok(!text.includes('hunter2'));
    assert.ok(text.includes(`"password":"${REDACTED}"`));
    detach();
  });
});

describe('redact', () => {
  test('replaces every field whose name looks like a secret, at any depth', () => {
    const input = {
      key: 'k',
      agentKey: 'k',
      api_key: 'k',
      token: 't',
      refreshToken: 't',
      Authorization: 'Bearer x',
      password: 'p',
      clientSecret: 's',
      list: [{ jwt: 'j' }],
      fine: { name: 'ok', count: 3 },
    };
    assert.deepEqual(redact(input), {
      key: REDACTED,
      agentKey: REDACTED,
      api_key: REDACTED,
      token: REDACTED,
      refreshToken: REDACTED,
      Authorization: REDACTED,
      password: REDACTED,
      clientSecret: REDACTED,
      list: [{ jwt: REDACTED }],
      fine: { name: 'ok', count: 3 },
    });
  });

  test('survives cycles, functions and errors', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    assert.doesNotThrow(() => JSON.stringify(redact(cyclic)));
    assert.deepEqual(redact({ f: () => 1, e: new Error('boom') }), { f: undefined, e: { name: 'Error', message: 'boom' } });
  });
});

describe('ring buffer', () => {
  test('keeps the newest items in order and reports each drop', () => {
    const ring = new RingBuffer<number>(3);
    const drops = [1, 2, 3, 4, 5].map((n) => ring.push(n, n * 10));
    assert.deepEqual(drops, [false, false, false, true, true]);
    assert.deepEqual([ring.shift(), ring.shift(), ring.shift(), ring.shift()], [{ item: 3, at: 30 }, { item: 4, at: 40 }, { item: 5, at: 50 }, undefined]);
  });
});
