import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RouteQueue } from '../../src/runtime/route-queue.js';

const all = () => true;

describe('RouteQueue', () => {
  test('ids come out ordered by seq, whatever the push order', () => {
    const q = new RouteQueue();
    for (const [seq, id] of [[5, 'e'], [1, 'a'], [3, 'c'], [2, 'b'], [4, 'd']] as const) q.push(0, seq, id);
    assert.equal(q.size, 5);
    assert.deepEqual(q.take(10, all), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(q.size, 0);
  });

  test('take respects max and leaves the rest in order', () => {
    const q = new RouteQueue();
    for (let i = 1; i <= 5; i++) q.push(0, i, `c${i}`);
    assert.deepEqual(q.take(2, all), ['c1', 'c2']);
    assert.equal(q.size, 3);
    assert.deepEqual(q.take(1, all), ['c3']);
    assert.deepEqual(q.take(10, all), ['c4', 'c5']);
    assert.deepEqual(q.take(10, all), []);
  });

  test('take(0) takes nothing', () => {
    const q = new RouteQueue();
    q.push(0, 1, 'a');
    assert.deepEqual(q.take(0, all), []);
    assert.equal(q.size, 1);
  });

  test('a reinserted command (failed delivery) goes back before newer ones: creation order is kept', () => {
    const q = new RouteQueue();
    q.push(0, 1, 'a');
    q.push(0, 2, 'b');
    assert.deepEqual(q.take(1, all), ['a']);
    q.push(0, 3, 'c');
    q.push(0, 1, 'a'); // back to pending
    assert.deepEqual(q.take(10, all), ['a', 'b', 'c']);
  });

  test('take skips ids that are no longer pending (and drops them), still filling up to max', () => {
    const q = new RouteQueue();
    for (let i = 1; i <= 6; i++) q.push(0, i, `c${i}`);
    const pending = new Set(['c2', 'c4', 'c5', 'c6']);
    const asked: string[] = [];
    const ids = q.take(2, (id) => {
      asked.push(id);
      return pending.has(id);
    });
    assert.deepEqual(ids, ['c2', 'c4']);
    assert.deepEqual(asked, ['c1', 'c2', 'c3', 'c4'], 'stops asking once max is reached');
    assert.deepEqual(q.take(10, all), ['c5', 'c6'], 'skipped ids were dropped, not kept');
  });

  test('take with nothing pending empties the queue and returns nothing', () => {
    const q = new RouteQueue();
    q.push(0, 1, 'a');
    q.push(0, 2, 'b');
    assert.deepEqual(q.take(5, () => false), []);
    assert.equal(q.size, 0);
  });
});

test('RouteQueue: orders by creation time first, then seq', () => {
  const q = new RouteQueue();
  q.push(2000, 1, 'late-low-seq');
  q.push(1000, 9, 'early-high-seq');
  q.push(1000, 3, 'early-low-seq');
  assert.deepEqual(q.take(10, () => true), ['early-low-seq', 'early-high-seq', 'late-low-seq']);
});
