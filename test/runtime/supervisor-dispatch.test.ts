/**
 * The supervisor's bookkeeping around dispatch: what is handed to a connection is exactly what
 * is still ours to hand, and nothing it tracks (in-flight ids, route queues) outlives the
 * commands it tracks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandView } from '../../src/domain/command.js';
import type { Subscription } from '../../src/runtime/subscription.js';
import { eventually } from '../support/courier-harness.js';
import { supervisorOnSharedStore } from '../support/shared-store.js';

function setup() {
  const { store, supervisor, send } = supervisorOnSharedStore();
  /** A subscription that records what it is pushed and never confirms it. */
  const connect = (agent: string, mode: 'long-poll' | 'websocket') => {
    const pushes: CommandView[][] = [];
    const sub: Subscription = supervisor.subscribe(
      `agent:${agent}`,
      mode,
      `agent:${agent}`,
      { push: (commands) => pushes.push(commands), drain: () => {} },
      { longPollTimeoutMs: 60_000 },
    );
    return { sub, pushes };
  };
  return { store, supervisor, send, connect };
}

describe('supervisor dispatch bookkeeping', () => {
  test('a command that ends while its claim is being written is not handed to the connection', async () => {
    const { store, supervisor, send, connect } = setup();
    await supervisor.start();
    const id = await send('a1');
    let release!: () => void;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    const { sub, pushes } = connect('a1', 'long-poll');
    await eventually(async () => ((await supervisor.get(id))!.status === 'sent' ? true : undefined), 'claimed');
    // Its earlier delivery reached the agent after all: the result arrives while the claim is in the air.
    const reported = supervisor.reportResults([{ document_id: id, code: 0, message: 'done' }], 'agent:a1', 'agent:a1');
    release();
    store.hold = null;
    assert.equal((await reported)[0]!.outcome, 'recorded');
    await eventually(() => (pushes.length > 0 ? true : undefined), 'the long-poll answered');
    assert.deepEqual(pushes, [[]], 'answered, without the command that already ended');
    assert.equal(sub.inFlight.size, 0);
    await supervisor.stop();
  });

  test('a command handed to a WebSocket and ended before its ack is no longer in flight there', async () => {
    const { supervisor, send, connect } = setup();
    await supervisor.start();
    const { sub, pushes } = connect('a2', 'websocket');
    const id = await send('a2');
    await eventually(() => (pushes.length > 0 ? true : undefined), 'pushed');
    assert.deepEqual([...sub.inFlight], [id]);
    await supervisor.reportResults([{ document_id: id, code: 1, message: 'failed' }], 'agent:a2', 'agent:a2');
    assert.equal(sub.inFlight.size, 0, 'a long-lived WebSocket does not keep ids of ended commands');
    assert.equal(supervisor.stats().commandsInFlight, 0);
    assert.deepEqual(supervisor.confirm(sub, [id]), [], 'a late ack of it confirms nothing');
    await supervisor.stop();
  });

  test('an ack of a whole frame releases its commands from the connection in one event, not one per command', async () => {
    const { supervisor, send, connect } = setup();
    await supervisor.start();
    const ids = [await send('a4'), await send('a4'), await send('a4')];
    const { sub, pushes } = connect('a4', 'websocket');
    await eventually(() => (pushes.flat().length === 3 ? true : undefined), 'pushed');
    const events: string[] = [];
    const toMachine = sub.send.bind(sub);
    sub.send = (event) => {
      events.push(event.type);
      toMachine(event);
    };
    assert.deepEqual(supervisor.confirm(sub, ids).sort(), [...ids].sort());
    assert.equal(sub.inFlight.size, 0);
    assert.deepEqual(events, ['RELEASED'], 'one RELEASED for the frame');
    await supervisor.stop();
  });

  test('results reported with their acks (one results frame) confirm first, in the same event: delivered, then the result', async () => {
    const { store, supervisor, send, connect } = setup();
    await supervisor.start();
    const ids = [await send('a5'), await send('a5')];
    const written: [string, string][] = [];
    const commit = store.commit.bind(store);
    store.commit = (batch) => {
      for (const c of batch.changes) written.push([c.document_id, c.audit.cause]);
      return commit(batch);
    };
    const { sub, pushes } = connect('a5', 'websocket');
    await eventually(() => (pushes.flat().length === 2 ? true : undefined), 'pushed');
    const outcomes = await supervisor.reportResults([{ document_id: ids[0]!, code: 0, message: 'done' }], 'agent:a5', 'agent:a5', { subscription: sub, documentIds: ids });
    assert.deepEqual(
      outcomes.map((o) => [o.outcome, o.status]),
      [['recorded', 'success']],
    );
    assert.equal(sub.inFlight.size, 0, 'both acked off the connection');
    assert.equal((await supervisor.get(ids[1]!))!.status, 'delivered', 'acked without a result: delivered');
    await eventually(() => (written.filter(([id]) => id === ids[0]).length === 3 ? true : undefined), 'three changes written');
    assert.deepEqual(
      written.filter(([id]) => id === ids[0]).map(([, cause]) => cause),
      ['claimed', 'delivered', 'result'],
    );
    await supervisor.stop();
  });

  test('the queue of an offline agent whose commands all ended is dropped', async () => {
    const { supervisor, send } = setup();
    await supervisor.start();
    const ids = [await send('offline'), await send('offline'), await send('offline')];
    assert.equal(supervisor.stats().routeQueues, 1);
    for (const id of ids) await supervisor.cancel(id, 'operator:t');
    await eventually(() => (supervisor.stats().routeQueues === 0 ? true : undefined), 'queue dropped');
    assert.equal(supervisor.stats().liveCommands, 0);
    await supervisor.stop();
  });
});
