import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RouteQueue } from '../../src/runtime/route-queue.js';

const all = () => true;

describe('RouteQueue', () => {
  test('ids come out ordered by seq, whatever the push order', () => {
    const q = new RouteQueue(all);
    for (const [seq, id] of [
      [5, 'e'],
      [1, 'a'],
      [3, 'c'],
      [2, 'b'],
      [4, 'd'],
    ] as const)
      q.push(0, seq, id);
    assert.equal(q.size, 5);
    assert.deepEqual(q.take(10), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(q.size, 0);
  });

  test('take respects max and leaves the rest in order', () => {
    const q = new RouteQueue(all);
    for (let i = 1; i <= 5; i++) q.push(0, i, `c${i}`);
    assert.deepEqual(q.take(2), ['c1', 'c2']);
    assert.equal(q.size, 3);
    assert.deepEqual(q.take(1), ['c3']);
    assert.deepEqual(q.take(10), ['c4', 'c5']);
    assert.deepEqual(q.take(10), []);
  });

  test('take(0) takes nothing', () => {
    const q = new RouteQueue(all);
    q.push(0, 1, 'a');
    assert.deepEqual(q.take(0), []);
    assert.equal(q.size, 1);
  });

  test('a reinserted command (failed delivery) goes back before newer ones: creation order is kept', () => {
    const q = new RouteQueue(all);
    q.push(0, 1, 'a');
    q.push(0, 2, 'b');
    assert.deepEqual(q.take(1), ['a']);
    q.push(0, 3, 'c');
    q.push(0, 1, 'a'); // back to pending
    assert.deepEqual(q.take(10), ['a', 'b', 'c']);
  });

  test('take skips ids that are no longer pending (and drops them), still filling up to max', () => {
    const pending = new Set(['c2', 'c4', 'c5', 'c6']);
    const asked: string[] = [];
    const q = new RouteQueue((id) => {
      asked.push(id);
      return pending.has(id);
    });
    for (let i = 1; i <= 6; i++) q.push(0, i, `c${i}`);
    assert.deepEqual(q.take(2), ['c2', 'c4']);
    assert.deepEqual(asked, ['c1', 'c2', 'c3', 'c4'], 'stops asking once max is reached');
    assert.deepEqual(q.take(10), ['c5', 'c6'], 'skipped ids were dropped, not kept');
  });

  test('take with nothing pending empties the queue and returns nothing', () => {
    const q = new RouteQueue(() => false);
    q.push(0, 1, 'a');
    q.push(0, 2, 'b');
    assert.deepEqual(q.take(5), []);
    assert.equal(q.size, 0);
  });

  test('entries that stopped being pending are pruned as the queue grows: it stays within twice its pending commands', () => {
    // An offline agent whose commands keep timing out: nobody takes from its queue.
    const pending = new Set<string>();
    const q = new RouteQueue((id) => pending.has(id));
    let largest = 0;
    for (let i = 0; i < 10_000; i++) {
      const id = `c${i}`;
      pending.add(id);
      q.push(i, i, id);
      if (i >= 10) pending.delete(`c${i - 10}`); // at most 10 pending at once
      largest = Math.max(largest, q.size);
    }
    assert.ok(largest <= 128, `queue grew to ${largest} entries for at most 10 pending commands`);
    assert.deepEqual(
      q.take(100),
      [...pending].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))),
    );
  });

  test('prune() drops every entry no longer pending and returns what is left', () => {
    const pending = new Set(['b']);
    const q = new RouteQueue((id) => pending.has(id));
    q.push(0, 1, 'a');
    q.push(0, 2, 'b');
    assert.equal(q.prune(), 1);
    assert.deepEqual(q.take(10), ['b']);
  });
});

test('RouteQueue: orders by creation time first, then seq', () => {
  const q = new RouteQueue(all);
  q.push(2000, 1, 'late-low-seq');
  q.push(1000, 9, 'early-high-seq');
  q.push(1000, 3, 'early-low-seq');
  assert.deepEqual(q.take(10), ['early-low-seq', 'early-high-seq', 'late-low-seq']);
});
