/**
 * The compiled stepper must be XState's pure `transition()` exactly: same next state, context and
 * status, same actions (names and params), on every simple path of each flat machine; and it must
 * refuse a machine it cannot step the same way.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assign, createMachine, setup, transition } from 'xstate';
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
    const step = machineStepper(commandMachine);
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
          const flat = { value: state.value, context: state.context, status: state.status === 'done' ? ('done' as const) : ('active' as const) };
          const [actual, actualActions] = step(flat, event);
          assert.deepEqual(actual.value, expected.value);
          assert.deepEqual(actual.context, expected.context);
          assert.equal(actual.status, expected.status);
          assert.equal(actual === flat, expected === state, 'an event not taken leaves the very same snapshot');
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

  test('refuses, when compiling, a machine that uses what it cannot step as XState would', () => {
    const refused = [
      createMachine({ id: 'nested', initial: 'a', states: { a: { initial: 'x', states: { x: {} } } } }),
      createMachine({ id: 'parallel', type: 'parallel', states: { a: {}, b: {} } }),
      createMachine({ id: 'always', initial: 'a', states: { a: { always: { target: 'b' } }, b: {} } }),
      createMachine({ id: 'after', initial: 'a', states: { a: { after: { 100: { target: 'b' } } }, b: {} } }),
      createMachine({ id: 'rooted', initial: 'a', on: { GO: {} }, states: { a: {} } }),
      createMachine({ id: 'wildcard', initial: 'a', states: { a: { on: { '*': { target: 'b' } } }, b: {} } }),
      createMachine({ id: 'inline', initial: 'a', states: { a: { on: { GO: { guard: () => true, target: 'b' } } }, b: {} } }),
      createMachine({ id: 'computed', initial: 'a', states: { a: { entry: () => {} } } }),
    ];
    for (const machine of refused) assert.throws(() => machineStepper(machine), new RegExp(`"${machine.id}" uses`), machine.id);
  });

  test('an assign of one function and a targetless transition step as in XState', () => {
    const machine = setup({
      types: { context: {} as { n: number; last: string }, events: {} as { type: 'ADD'; by: number } | { type: 'NOTE' } },
      actions: { note: () => {} },
    }).createMachine({
      id: 'counter',
      initial: 'counting',
      context: { n: 0, last: '' },
      states: {
        counting: {
          on: {
            ADD: { actions: [assign(({ context, event }) => ({ n: context.n + event.by, last: 'add' })), { type: 'note', params: { why: 'added' } }] },
            NOTE: { target: 'counting', actions: ['note'] },
          },
        },
      },
    });
    const step = machineStepper(machine);
    let state = transition(machine, machine.resolveState({ value: 'counting', context: { n: 0, last: '' } }), { type: 'ADD', by: 2 })[0];
    for (const event of [{ type: 'ADD', by: 3 } as const, { type: 'NOTE' } as const]) {
      const [expected, expectedActions] = transition(machine, state, event);
      const [actual, actualActions] = step({ value: 'counting', context: state.context, status: 'active' }, event);
      assert.deepEqual([actual.value, actual.context], [expected.value, expected.context]);
      assert.deepEqual(
        actualActions.map((a) => [a.type, a.params]),
        expectedActions.map((a) => [a.type, a.params]),
      );
      state = expected;
    }
  });
});
