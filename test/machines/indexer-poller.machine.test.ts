/**
 * Tests of the indexer-poller machine (machines/indexer-poller.machine.ts). Its reads are
 * provided as promises the test settles by hand, and time is a simulated clock, so every
 * transition happens exactly when the test decides.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { backoffMs, indexerPollerMachine } from '../../machines/indexer-poller.machine.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A poller whose every read waits for the test: `reads` holds one deferred per call, in order. */
function controlled(input = { pollIntervalMs: 1000, rescanIntervalMs: 5000, maxBackoffMs: 8000 }) {
  const reads: { kind: 'tail' | 'rescan'; done: Deferred }[] = [];
  const read = (kind: 'tail' | 'rescan') =>
    fromPromise<void>(() => {
      const done = deferred();
      reads.push({ kind, done });
      return done.promise;
    });
  const clock = new SimulatedClock();
  const actor = createActor(indexerPollerMachine.provide({ actors: { tail: read('tail'), rescan: read('rescan') } }), { input, clock }).start();
  const poll = () => (actor.getSnapshot().value as { active: { poll: string } }).active.poll;
  const last = () => reads[reads.length - 1]!;
  return { actor, clock, reads, poll, last, context: () => actor.getSnapshot().context };
}

describe('indexer poller: polling', () => {
  test('tails at once, waits one poll interval after a successful tail, then tails again', async () => {
    const p = controlled();
    assert.equal(p.poll(), 'tailing');
    assert.deepEqual(
      p.reads.map((r) => r.kind),
      ['tail'],
    );
    p.last().done.resolve();
    await settle();
    assert.equal(p.poll(), 'waiting');
    p.clock.increment(999);
    assert.equal(p.poll(), 'waiting');
    p.clock.increment(1);
    assert.equal(p.poll(), 'tailing');
    assert.deepEqual(
      p.reads.map((r) => r.kind),
      ['tail', 'tail'],
    );
    p.actor.stop();
  });

  test('a re-scan runs after the tail once the re-scan interval has passed, not before', async () => {
    const p = controlled();
    for (let i = 0; i < 4; i++) {
      p.last().done.resolve();
      await settle();
      assert.equal(p.poll(), 'waiting');
      p.clock.increment(1000);
    }
    // 4 s: no re-scan yet.
    assert.deepEqual(
      p.reads.map((r) => r.kind),
      ['tail', 'tail', 'tail', 'tail', 'tail'],
    );
    p.clock.increment(1000); // 5 s: due, but the tail in progress finishes first
    assert.equal(p.context().rescanDue, true);
    p.last().done.resolve();
    await settle();
    assert.equal(p.poll(), 'rescanning');
    assert.equal(p.last().kind, 'rescan');
    p.last().done.resolve();
    await settle();
    assert.equal(p.poll(), 'waiting');
    assert.equal(p.context().rescanDue, false);
    p.actor.stop();
  });
});

describe('indexer poller: failures', () => {
  test('a failed read backs off, longer after each failure, capped; a success resets it', async () => {
    const p = controlled({ pollIntervalMs: 1000, rescanIntervalMs: 60_000, maxBackoffMs: 8000 });
    const delays: number[] = [];
    for (let failure = 1; failure <= 5; failure++) {
      p.last().done.reject(new Error(`down ${failure}`));
      await settle();
      assert.equal(p.poll(), 'backing_off');
      assert.equal(p.context().failures, failure);
      assert.equal(p.context().lastError, `down ${failure}`);
      const delay = backoffMs(p.context());
      delays.push(delay);
      p.clock.increment(delay - 1);
      assert.equal(p.poll(), 'backing_off');
      p.clock.increment(1);
      assert.equal(p.poll(), 'tailing');
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);
    p.last().done.resolve();
    await settle();
    assert.equal(p.poll(), 'waiting');
    assert.equal(p.context().failures, 0);
    assert.equal(p.context().lastError, null);
    p.actor.stop();
  });

  test('a failed re-scan backs off too, and stays due', async () => {
    const p = controlled({ pollIntervalMs: 1000, rescanIntervalMs: 1000, maxBackoffMs: 8000 });
    p.clock.increment(1000);
    p.last().done.resolve();
    await settle();
    assert.equal(p.poll(), 'rescanning');
    p.last().done.reject(new Error('shard failed'));
    await settle();
    assert.equal(p.poll(), 'backing_off');
    assert.equal(p.context().rescanDue, true);
    p.clock.increment(1000);
    p.last().done.resolve(); // the tail
    await settle();
    assert.equal(p.poll(), 'rescanning');
    p.actor.stop();
  });

  test('STOP ends it from any state, also while a read is in progress', async () => {
    const p = controlled();
    p.actor.send({ type: 'STOP' });
    assert.equal(p.actor.getSnapshot().status, 'done');
    assert.equal(p.actor.getSnapshot().value, 'stopped');
    const q = controlled();
    q.last().done.reject(new Error('down'));
    await settle();
    q.actor.send({ type: 'STOP' });
    assert.equal(q.actor.getSnapshot().status, 'done');
  });
});
