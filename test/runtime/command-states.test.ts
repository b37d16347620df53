import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadlinePassed } from '../../src/runtime/command-states.js';

test('the deadline that applies is the one the machine guards in each status: delivery until delivered, execution after', () => {
  const cases: [Parameters<typeof deadlinePassed>[0], number, number | null, boolean][] = [
    ['pending', 100, null, true],
    ['pending', 300, null, false],
    ['sent', 100, null, true],
    ['sent', 300, null, false],
    // Delivered: the delivery deadline no longer counts, the execution deadline does.
    ['delivered', 100, 300, false],
    ['delivered', 300, 100, true],
    ['delivered', 100, null, false],
    // Ended: nothing is due.
    ['success', 100, 100, false],
    ['timed_out', 100, null, false],
  ];
  for (const [status, deliveryDeadline, executionDeadline, expected] of cases) {
    assert.equal(deadlinePassed(status, { deliveryDeadline, executionDeadline }, 200), expected, `${status} ${deliveryDeadline} ${executionDeadline}`);
  }
});
