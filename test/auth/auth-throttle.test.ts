import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle } from '../../src/auth/auth-throttle.js';

const MINUTE = 60_000;

/** A throttle with the defaults (15 failures a minute, blocks up to 15 minutes) on a clock moved by hand. */
function setup(maxKeys = 1000, countInFlight = true) {
  const clock = { t: 1_000_000 };
  const throttle = new AuthThrottle({ allowance: 15, windowMs: MINUTE, maxBlockMs: 15 * MINUTE, maxKeys, countInFlight, now: () => clock.t });
  /** One attempt that fails; returns what `begin` said (0: it was tried). */
  const fail = (key: string): number => {
    const wait = throttle.begin(key);
    if (wait === 0) throttle.end(key, 'failed');
    return wait;
  };
  return { clock, throttle, fail };
}

describe('the throttle of failed authentications', () => {
  test('the 16th failed attempt in a minute is throttled, for the rest of the minute', () => {
    const { clock, fail } = setup();
    for (let i = 1; i <= 15; i++) {
      assert.equal(fail('k'), 0, `attempt ${i} is tried`);
      clock.t += 1000;
    }
    // The 15th failure (at +14 s) blocked the key for a minute.
    assert.equal(fail('k'), 59);
    clock.t += 58_999;
    assert.equal(fail('k'), 1);
    clock.t += 1;
    assert.equal(fail('k'), 0, 'tried again once the minute is over');
  });

  test('the back-off doubles each time the allowance runs out again, up to 15 minutes', () => {
    const { clock, throttle, fail } = setup();
    const blocks: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 15; i++) assert.equal(fail('k'), 0);
      const wait = throttle.begin('k');
      blocks.push(wait);
      clock.t += wait * 1000;
    }
    assert.deepEqual(blocks, [60, 120, 240, 480, 900, 900]);
  });

  test('failures spread over more than a minute are never throttled', () => {
    const { clock, fail } = setup();
    for (let i = 0; i < 100; i++) {
      assert.equal(fail('k'), 0);
      clock.t += 5000; // 12 a minute
    }
  });

  test('a success resets a key when asked to (an agent id), not otherwise (an address)', () => {
    const { throttle, fail } = setup();
    for (let i = 0; i < 14; i++) fail('agent');
    for (let i = 0; i < 14; i++) fail('address');
    assert.equal(throttle.begin('agent'), 0);
    throttle.end('agent', 'succeeded', true);
    assert.equal(throttle.begin('address'), 0);
    throttle.end('address', 'succeeded');
    for (let i = 0; i < 14; i++) assert.equal(fail('agent'), 0, 'the agent id starts over after its success');
    assert.equal(fail('address'), 0, 'the 15th failure of the address is tried…');
    assert.equal(fail('address'), 60, '…and blocks it');
  });

  test('attempts under way count against what is left (an agent id): a burst of concurrent guesses is not all tried', () => {
    const { throttle } = setup();
    for (let i = 0; i < 15; i++) assert.equal(throttle.begin('k'), 0);
    assert.equal(throttle.begin('k'), 1, 'the 16th concurrent attempt waits');
    for (let i = 0; i < 15; i++) throttle.end('k', 'failed');
    assert.equal(throttle.begin('k'), 60);
  });

  test('…or do not (an address): a site behind one address may log in all at once', () => {
    const { throttle } = setup(1000, false);
    for (let i = 0; i < 500; i++) assert.equal(throttle.begin('site'), 0);
    for (let i = 0; i < 500; i++) throttle.end('site', 'succeeded');
    assert.equal(throttle.size, 0);
  });

  test('attempts that neither fail nor succeed (a store error) count for nothing', () => {
    const { throttle } = setup();
    for (let i = 0; i < 100; i++) {
      assert.equal(throttle.begin('k'), 0);
      throttle.end('k', 'neither');
    }
    assert.equal(throttle.size, 0);
  });

  test('memory is bounded: at most maxKeys keys, the least recent forgotten; quiet keys are swept', () => {
    const { clock, throttle, fail } = setup(100);
    for (let i = 0; i < 10_000; i++) fail(`addr-${i}`);
    assert.equal(throttle.size, 100);
    // A blocked key is kept until its block is over and it has been quiet for the longest block.
    for (let i = 0; i < 15; i++) fail('blocked');
    clock.t += MINUTE;
    throttle.sweep();
    assert.equal(throttle.size, 1, 'the keys with a few failures are forgotten after their minute');
    clock.t += 14 * MINUTE;
    throttle.sweep();
    assert.equal(throttle.size, 1, 'quiet for 14 minutes after its block: its back-off still holds');
    clock.t += MINUTE;
    throttle.sweep();
    assert.equal(throttle.size, 0);
  });
});
