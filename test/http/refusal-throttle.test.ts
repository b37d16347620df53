import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalThrottle, type RefusalSummary } from '../../src/http/refusal-throttle.js';

describe('refusal throttle (anonymous refusals in the audit trail)', () => {
  function setup(maxKinds = 100) {
    const clock = { t: 1_000_000 };
    const summaries: RefusalSummary[] = [];
    const throttle = new RefusalThrottle({ windowMs: 60_000, maxKinds, now: () => clock.t, summarize: (s) => summaries.push(s) });
    return { clock, summaries, throttle };
  }
  const kind = (address = '10.0.0.1', route = 'GET /api/v1/audit', reason = 'COURIER_ERR_MISSING_API_KEY') => ({ address, route, reason });

  test('a flood of one kind: the first is written, the rest counted into one summary when the window ends', () => {
    const { clock, summaries, throttle } = setup();
    const admitted = Array.from({ length: 10_000 }, () => throttle.admit(kind())).filter(Boolean).length;
    assert.equal(admitted, 1);
    clock.t += 59_999;
    throttle.sweep();
    assert.deepEqual(summaries, [], 'the window is still open');
    clock.t += 1;
    throttle.sweep();
    assert.deepEqual(summaries, [{ ...kind(), count: 9_999, since: 1_000_000, until: 1_060_000 }]);
    assert.equal(throttle.size, 0);
    assert.equal(throttle.admit(kind()), true, 'a new window writes its first again');
  });

  test('a window that ends on the next refusal of its kind is summarized then', () => {
    const { clock, summaries, throttle } = setup();
    throttle.admit(kind());
    throttle.admit(kind());
    clock.t += 60_000;
    assert.equal(throttle.admit(kind()), true);
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0]!.count, 1);
  });

  test('a window that held nothing back is closed without a summary', () => {
    const { clock, summaries, throttle } = setup();
    throttle.admit(kind());
    clock.t += 60_000;
    throttle.sweep();
    assert.deepEqual(summaries, []);
    assert.equal(throttle.size, 0);
  });

  test('address, route and reason each make another kind', () => {
    const { throttle } = setup();
    assert.equal(throttle.admit(kind('10.0.0.1')), true);
    assert.equal(throttle.admit(kind('10.0.0.2')), true);
    assert.equal(throttle.admit(kind('10.0.0.1', 'GET /api/v1/commands')), true);
    assert.equal(throttle.admit(kind('10.0.0.1', 'GET /api/v1/audit', 'COURIER_ERR_INVALID_API_KEY')), true);
    assert.equal(throttle.admit(kind('10.0.0.2')), false);
  });

  test('beyond maxKinds, new kinds are only counted, per reason, and summarized as such', () => {
    const { summaries, throttle } = setup(3);
    for (let i = 0; i < 1000; i++) throttle.admit(kind(`10.0.${i >> 8}.${i & 255}`));
    assert.equal(throttle.size, 4, 'three kinds and one overflow bucket');
    throttle.flush();
    assert.deepEqual(summaries, [{ address: '*', route: '*', reason: 'COURIER_ERR_MISSING_API_KEY', count: 997, since: 1_000_000, until: 1_000_000 }]);
  });

  test('flush (shutdown) summarizes every open window at once', () => {
    const { summaries, throttle } = setup();
    for (let i = 0; i < 3; i++) throttle.admit(kind('a'));
    for (let i = 0; i < 2; i++) throttle.admit(kind('b'));
    throttle.admit(kind('c'));
    throttle.flush();
    assert.deepEqual(
      summaries.map((s) => [s.address, s.count]),
      [
        ['a', 2],
        ['b', 1],
      ],
    );
    assert.equal(throttle.size, 0);
  });
});
