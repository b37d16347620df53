/**
 * The reused-scope stepper must be XState's pure `transition()` exactly: same next snapshot, same
 * actions (names and params), on every simple path of the command machine.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { transition } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { commandMachine, type CommandMachineEvent } from '../../machines/command.machine.js';
import { machineStepper } from '../../src/runtime/machine-stepper.js';

const INPUT = { deliveryDeadline: 10_000, executionTimeoutMs: 20_000 };
const EVENTS: CommandMachineEvent[] = [
  { type: 'CLAIM', at: 1_000, subscription: 'sub-1' },
  { type: 'TRANSPORT_CONFIRMED', at: 2_000 },
  { type: 'TRANSPORT_FAILED', at: 2_000 },
  { type: 'RECOVER', at: 3_000 },
  { type: 'LEASE_EXPIRED', at: 3_000 },
  { type: 'RESULT', at: 4_000, code: 0, message: 'ok' },
  { type: 'RESULT', at: 4_000, code: 2, message: 'no' },
  { type: 'CANCEL', at: 500 },
  { type: 'DEADLINE', at: 9_999 },
  { type: 'DEADLINE', at: 10_000 },
  { type: 'DEADLINE', at: 22_000 },
];

describe('machineStepper', () => {
  test('gives the snapshot and the actions transition() gives, for every event at every step of every path', () => {
    const step = machineStepper(commandMachine, { deliveryDeadline: 0, executionTimeoutMs: 0 });
    const paths = getSimplePaths(commandMachine, {
      input: INPUT,
      events: EVENTS,
      filterEvents: (snapshot, event) => !(event.type === 'CLAIM' && snapshot.context.attempts >= 2),
    });
    assert.ok(paths.length > 10);
    let compared = 0;
    for (const path of paths) {
      for (const { state } of path.steps) {
        for (const event of EVENTS) {
          const [expected, expectedActions] = transition(commandMachine, state, event);
          const [actual, actualActions] = step(state, event);
          assert.deepEqual(actual.value, expected.value);
          assert.deepEqual(actual.context, expected.context);
          assert.equal(actual.status, expected.status);
          assert.equal(actual === state, expected === state, 'an event not taken leaves the very same snapshot');
          assert.deepEqual(
            actualActions.map((a) => [a.type, a.params]),
            expectedActions.map((a) => [a.type, a.params]),
          );
          compared++;
        }
      }
    }
    assert.ok(compared > 100);
  });
});
