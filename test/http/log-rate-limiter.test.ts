import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogRateLimiter, type SuppressedLines } from '../../src/http/log-rate-limiter.js';

describe('log rate limiter', () => {
  function setup(perWindow = 3) {
    const clock = { t: 1_000_000 };
    const summaries: SuppressedLines<string>[] = [];
    const limiter = new LogRateLimiter<string>({ perWindow, windowMs: 60_000, now: () => clock.t, suppressed: (s) => summaries.push(s) });
    return { clock, summaries, limiter };
  }

  test('a flood of one key: the first lines of the window pass, the rest are summed up once the window ends', () => {
    const { clock, summaries, limiter } = setup();
    const admitted = Array.from({ length: 1000 }, (_, i) => limiter.admit('COURIER_ERR_INVALID_KEY', `10.0.0.${i % 250}`)).filter(Boolean).length;
    assert.equal(admitted, 3);
    clock.t += 59_999;
    limiter.sweep();
    assert.deepEqual(summaries, [], 'the window is still open');
    clock.t += 1;
    limiter.sweep();
    assert.deepEqual(summaries, [{ key: 'COURIER_ERR_INVALID_KEY', count: 997, since: 1_000_000, until: 1_060_000, last: '10.0.0.249' }]);
    limiter.sweep();
    assert.equal(summaries.length, 1, 'told once');
    assert.equal(limiter.admit('COURIER_ERR_INVALID_KEY', 'x'), true, 'a new window lets its first lines through again');
  });

  test("a window that ends on its key's next line is summed up then, before that line passes", () => {
    const { clock, summaries, limiter } = setup(1);
    limiter.admit('k', 'a');
    limiter.admit('k', 'b');
    clock.t += 60_000;
    assert.equal(summaries.length, 0);
    assert.equal(limiter.admit('k', 'c'), true);
    assert.deepEqual(summaries, [{ key: 'k', count: 1, since: 1_000_000, until: 1_060_000, last: 'b' }]);
  });

  test('keys are limited apart: one flooded key does not silence another', () => {
    const { limiter } = setup(2);
    for (let i = 0; i < 100; i++) limiter.admit('flooded', '');
    assert.equal(limiter.admit('other', ''), true);
  });

  test('a window that held nothing back ends without a summary; flush ends every window', () => {
    const { clock, summaries, limiter } = setup(2);
    limiter.admit('quiet', '');
    limiter.admit('loud', '');
    limiter.admit('loud', '');
    limiter.admit('loud', 'last');
    clock.t += 10;
    limiter.flush();
    assert.deepEqual(summaries, [{ key: 'loud', count: 1, since: 1_000_000, until: 1_000_010, last: 'last' }]);
  });
});
