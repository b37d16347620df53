import { test, describe, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineQueue, type Deadline } from '../../src/runtime/deadline-queue.js';

/** Mocked timers plus an injected clock that moves with them. */
let now: number;
let fired: Deadline[][];
let queue: DeadlineQueue;

function advance(ms: number): void {
  now += ms;
  mock.timers.tick(ms);
}

const ids = (batch: Deadline[] | undefined) => (batch ?? []).map((d) => d.id);

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout'] });
  now = 1_000_000;
  fired = [];
  queue = new DeadlineQueue(
    () => now,
    (due) => fired.push(due),
  );
});

afterEach(() => {
  queue.stop();
  mock.timers.reset();
});

describe('DeadlineQueue', () => {
  test('deadlines fire in time order, each when it is due and not before', () => {
    queue.add(now + 300, 'c');
    queue.add(now + 100, 'a');
    queue.add(now + 200, 'b');
    assert.equal(queue.size, 3);
    advance(99);
    assert.deepEqual(fired, []);
    advance(1);
    assert.deepEqual(fired.map(ids), [['a']]);
    advance(99);
    assert.deepEqual(fired.map(ids), [['a']]);
    advance(1);
    assert.deepEqual(fired.map(ids), [['a'], ['b']]);
    advance(100);
    assert.deepEqual(fired.map(ids), [['a'], ['b'], ['c']]);
    assert.equal(queue.size, 0);
  });

  test('the reported deadline carries its time', () => {
    queue.add(now + 50, 'x');
    advance(50);
    assert.deepEqual(fired, [[{ at: now, id: 'x' }]]);
  });

  test('several due at once are reported together, in time order', () => {
    queue.add(now + 100, 'b');
    queue.add(now + 100, 'c');
    queue.add(now + 50, 'a');
    queue.add(now + 500, 'later');
    // The timer runs late (the event loop was busy): everything due by then comes in one call.
    now += 200;
    mock.timers.tick(200);
    assert.equal(fired.length, 1);
    assert.deepEqual(ids(fired[0]).slice(0, 1), ['a']);
    assert.deepEqual(ids(fired[0]).slice(1).sort(), ['b', 'c']);
    advance(300);
    assert.deepEqual(fired.map(ids).at(-1), ['later']);
    assert.equal(fired.length, 2);
  });

  test('adding an earlier deadline re-arms the timer', () => {
    queue.add(now + 1000, 'late');
    queue.add(now + 100, 'early');
    advance(100);
    assert.deepEqual(fired.map(ids), [['early']]);
    advance(900);
    assert.deepEqual(fired.map(ids), [['early'], ['late']]);
  });

  test('adding a later deadline does not delay an earlier one', () => {
    queue.add(now + 100, 'early');
    queue.add(now + 5000, 'late');
    advance(100);
    assert.deepEqual(fired.map(ids), [['early']]);
  });

  test('a deadline already past fires on the next timer turn', () => {
    queue.add(now - 10, 'overdue');
    advance(0);
    assert.deepEqual(fired.map(ids), [['overdue']]);
  });

  test('a time that is not finite never holds back the other deadlines', () => {
    // A NaN at the top of the heap compares as neither earlier nor later than anything: nothing
    // behind it would ever come due, and the timer would be re-armed for it without end. The
    // clock counts its readings, to fail rather than spin forever then.
    queue.stop();
    let readings = 0;
    queue = new DeadlineQueue(
      () => {
        if (++readings > 10_000) throw new Error('the queue spins: a deadline that never comes due is re-armed without end');
        return now;
      },
      (due) => fired.push(due),
    );
    const tryAdd = (at: number, id: string) => {
      try {
        queue.add(at, id);
      } catch {
        // refused: what matters here is the others
      }
    };
    tryAdd(NaN, 'bad');
    queue.add(now + 200, 'b');
    tryAdd(Infinity, 'never');
    queue.add(now + 100, 'a');
    tryAdd(NaN, 'bad-again');
    queue.add(now + 300, 'c');
    advance(100);
    advance(100);
    advance(100);
    assert.deepEqual(fired.map(ids), [['a'], ['b'], ['c']]);
  });

  test('a time that is not finite is refused with a coded error, and nothing is kept of it', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      assert.throws(() => queue.add(bad, `bad-${bad}`), { code: 'COURIER_ERR_INVALID_COMMAND_TIME' });
    }
    assert.equal(queue.size, 0);
  });

  test('stop() prevents firing', () => {
    queue.add(now + 100, 'a');
    queue.add(now + 200, 'b');
    queue.stop();
    advance(10_000);
    assert.deepEqual(fired, []);
  });

  test('a deadline far in the future (> 2^31 ms) does not fire early, and fires when due', { timeout: 30_000 }, () => {
    const far = 2 ** 31 + 5_000;
    // Node's timers fire after 1 ms when asked for more than 2^31-1 ms: no delay may be that long.
    const armed = mock.method(globalThis, 'setTimeout');
    queue.add(now + far, 'far');
    const delays = armed.mock.calls.map((c) => c.arguments[1] as number);
    assert.ok(delays.length > 0, 'no timer armed');
    for (const delay of delays) assert.ok(delay <= 2 ** 31 - 1, `armed for ${delay} ms`);
    armed.mock.restore();
    advance(2 ** 31 - 1);
    assert.deepEqual(fired, [], 'fired at the overflowed timer limit');
    advance(1);
    assert.deepEqual(fired, []);
    advance(far - 2 ** 31 - 1);
    assert.deepEqual(fired, [], 'fired 1 ms early');
    advance(1);
    assert.deepEqual(fired.map(ids), [['far']]);
  });

  test('a near deadline added while a far one is armed still fires in time', () => {
    queue.add(now + 2 ** 32, 'far');
    advance(1000);
    queue.add(now + 10, 'near');
    advance(10);
    assert.deepEqual(fired.map(ids), [['near']]);
    assert.equal(queue.size, 1);
  });

  test('entries of finished commands are swept once the heap has grown, and live ones still fire', () => {
    queue.stop();
    const finished = new Set<string>();
    queue = new DeadlineQueue(
      () => now,
      (due) => fired.push(due),
      (d) => finished.has(d.id),
    );
    // Many commands come and go long before their deadline (an hour away).
    for (let i = 0; i < 10_000; i++) {
      queue.add(now + 3_600_000 + i, `done-${i}`);
      finished.add(`done-${i}`);
    }
    queue.add(now + 50, 'live');
    assert.ok(queue.size < 5000, `stale entries kept: ${queue.size}`);
    advance(50);
    assert.deepEqual(fired.map(ids), [['live']]);
  });
});
