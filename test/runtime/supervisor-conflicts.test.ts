/**
 * The supervisor on a store shared with other writers: it writes every change on the condition
 * that the command is still at the version it last read or wrote, re-reads on a conflict, never
 * lets a read regress a command it is writing, and re-applies what a producer or agent asked for
 * to the stored state. The store here is an in-memory model of optimistic concurrency (what the
 * OpenSearch store does with if_seq_no/if_primary_term), so each race is set up exactly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pollOnce } from '../support/poll-once.js';
import { supervisorOnSharedStore } from '../support/shared-store.js';
import { eventually } from '../support/courier-harness.js';

function setup() {
  const { store, clock, supervisor, send } = supervisorOnSharedStore();
  const poll = (agent: string) => pollOnce(supervisor, agent);
  return { store, clock, supervisor, send, poll };
}

describe('supervisor on a store shared with other writers', () => {
  test('a result reported for a command another node moved on is recorded on the stored state', async () => {
    const { store, supervisor, send } = setup();
    await supervisor.start();
    const id = await send('a1');
    // Another node delivered it; this node has not seen that yet (its view: pending).
    store.otherWriter(id, { status: 'delivered', attempts: 1, deliveredAt: 1, executionDeadline: Date.parse('2025-03-01T11:00:00Z') });
    const [outcome] = await supervisor.reportResults([{ document_id: id, code: 0, message: 'done' }], 'agent:a1', 'agent:a1');
    assert.equal(outcome!.outcome, 'recorded');
    assert.equal(store.statusOf(id), 'success');
    assert.deepEqual(store.stored.get(id)!.state.result, { code: 0, message: 'done' });
    assert.ok(store.conflicts >= 1);
    await supervisor.stop();
  });

  test('a cancel that conflicts with an unrelated change is applied to the stored state', async () => {
    const { store, supervisor, send } = setup();
    await supervisor.start();
    const id = await send('a2');
    store.otherWriter(id, { attempts: 1 }); // still pending, a newer version
    const view = await supervisor.cancel(id, 'operator:t');
    assert.equal(view.status, 'cancelled');
    assert.equal(store.statusOf(id), 'cancelled');
    await supervisor.stop();
  });

  test('while its own write of a command is in flight, the node does not take an older stored state', async () => {
    const { store, supervisor, send, poll } = setup();
    await supervisor.start();
    const id = await send('a3');
    assert.deepEqual(
      (await poll('a3')).map((c) => c.document_id),
      [id],
    );
    await eventually(() => (store.statusOf(id) === 'delivered' ? true : undefined), 'delivered');
    let release!: () => void;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    const reported = supervisor.reportResults([{ document_id: id, code: 0, message: 'ok' }], 'agent:a3', 'agent:a3');
    // A read from before the result (say, the poller's) arrives while the result is being written.
    supervisor.observe([{ ...(await store.getCommand(id))!, status: 'pending', version: '99' }]);
    assert.equal((await supervisor.get(id))!.status, 'success');
    release();
    store.hold = null;
    assert.equal((await reported)[0]!.outcome, 'recorded');
    assert.equal(store.statusOf(id), 'success');
    await supervisor.stop();
  });

  test('a claim lost to another node is taken as stored; once its lease lapses, this node delivers', async () => {
    const { store, clock, supervisor, send, poll } = setup();
    await supervisor.start();
    const id = await send('a4');
    // Another node claims it first; this node's claim for its own subscriber then conflicts.
    store.otherWriter(id, { status: 'sent', attempts: 1, claim: { node: 'node-b', until: clock.t + 2000 } });
    assert.deepEqual(await poll('a4'), [], 'the long-poll is answered without the command it lost');
    await eventually(async () => ((await supervisor.get(id))!.status === 'sent' ? true : undefined), 'the stored claim taken');
    assert.equal(store.stored.get(id)!.state.claim!.node, 'node-b');
    // Node b dies. The lease lapses; the poller's re-scan hands the command over again.
    clock.t += 2001;
    const next = poll('a4');
    supervisor.observe([(await store.getCommand(id))!]);
    assert.deepEqual(
      (await next).map((c) => c.document_id),
      [id],
    );
    await eventually(() => (store.statusOf(id) === 'delivered' ? true : undefined), 'delivered here');
    assert.equal(store.stored.get(id)!.state.attempts, 2);
    await supervisor.stop();
  });
});
