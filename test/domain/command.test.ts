import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandMachine } from '../../machines/command.machine.js';
import { COMMAND_STATUSES, FINAL_STATUSES, INITIAL_STATUS, isCommandStatus, UNFINISHED_STATUSES, zeroCountsByStatus } from '../../src/domain/command.js';

/** What is in `a` and not in `b`, sorted. */
function missingFrom(a: Iterable<string>, b: Iterable<string>): string[] {
  const other = new Set(b);
  return [...a].filter((x) => !other.has(x)).sort();
}

describe('command statuses: the domain list is the command machine', () => {
  // Only the machine's exported object is read: its states are the statuses.
  const states = Object.entries(commandMachine.root.states);
  const machineStatuses = states.map(([name]) => name);
  const machineFinal = states.filter(([, node]) => node.type === 'final').map(([name]) => name);

  test('every state of the machine is a status, and every status a state', () => {
    assert.deepEqual(missingFrom(machineStatuses, COMMAND_STATUSES), [], 'states of the machine missing from COMMAND_STATUSES');
    assert.deepEqual(missingFrom(COMMAND_STATUSES, machineStatuses), [], 'COMMAND_STATUSES that are no state of the machine');
  });

  test('the final statuses are the final states', () => {
    assert.deepEqual(missingFrom(machineFinal, FINAL_STATUSES), [], 'final states missing from FINAL_STATUSES');
    assert.deepEqual(missingFrom(FINAL_STATUSES, machineFinal), [], 'FINAL_STATUSES that are no final state');
  });

  test('the unfinished statuses are the states that are not final', () => {
    const machineUnfinished = missingFrom(machineStatuses, machineFinal);
    assert.deepEqual(missingFrom(machineUnfinished, UNFINISHED_STATUSES), [], 'unfinished states missing from UNFINISHED_STATUSES');
    assert.deepEqual(missingFrom(UNFINISHED_STATUSES, machineUnfinished), [], 'UNFINISHED_STATUSES that are no unfinished state');
  });

  test('the initial status is the initial state', () => {
    assert.equal(commandMachine.config.initial, INITIAL_STATUS);
    assert.ok(UNFINISHED_STATUSES.includes(INITIAL_STATUS));
  });

  test('the comparison above can fail (a status on one side only)', () => {
    assert.deepEqual(missingFrom(['pending', 'archived'], ['pending']), ['archived']);
    assert.deepEqual(missingFrom(['pending'], ['pending', 'archived']), []);
  });
});

describe('isCommandStatus', () => {
  test('takes every status, and nothing else', () => {
    for (const status of COMMAND_STATUSES) assert.equal(isCommandStatus(status), true, status);
    for (const other of ['', 'PENDING', 'failed', 'done', ' pending', null, undefined, 0, ['pending'], { status: 'pending' }]) {
      assert.equal(isCommandStatus(other), false, JSON.stringify(other));
    }
  });
});

test('zeroCountsByStatus has every status at 0', () => {
  assert.deepEqual(Object.keys(zeroCountsByStatus()).sort(), [...COMMAND_STATUSES].sort());
  assert.ok(Object.values(zeroCountsByStatus()).every((n) => n === 0));
});
