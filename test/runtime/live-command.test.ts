/**
 * The runtime runs exactly the effects the command machine names, in the machine's order.
 *
 * Every simple path of the machine (explored with the XState graph utilities over an alphabet
 * that takes both sides of every guard) is replayed on a `LiveCommand` whose effects are fakes
 * that record their calls. After each step, the recorded calls must be the ones written out
 * literally below for that transition, from the design: a change to the machine's effects, or
 * a runtime that performs one the machine did not name, fails here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getSimplePaths } from 'xstate/graph';
import { commandMachine, type CommandMachineEvent, type PersistParams } from '../../machines/command.machine.js';
import type { CommandDocument, CommandStatus } from '../../src/domain/command.js';
import { commandEffects } from '../../src/runtime/command-effects.js';
import { LiveCommand, type CommandEffects, type Step } from '../../src/runtime/live-command.js';

const CREATED = Date.parse('2026-01-01T00:00:00.000Z');
const DELIVERY_DEADLINE = CREATED + 10_000;
const EXECUTION_TIMEOUT = 20_000;
const CONFIRMED_AT = CREATED + 2_000;

const EVENTS = {
  CLAIM: { type: 'CLAIM', at: CREATED + 1_000, by: 'agent:a', subscription: 'sub-1' },
  TRANSPORT_CONFIRMED: { type: 'TRANSPORT_CONFIRMED', at: CONFIRMED_AT, by: 'agent:a' },
  TRANSPORT_FAILED: { type: 'TRANSPORT_FAILED', at: CREATED + 2_000, by: 'agent:a' },
  RECOVER: { type: 'RECOVER', at: CREATED + 3_000 },
  LEASE_EXPIRED: { type: 'LEASE_EXPIRED', at: CREATED + 3_000 },
  RESULT_OK: { type: 'RESULT', at: CREATED + 4_000, by: 'agent:a', code: 0, message: 'ok' },
  RESULT_ERR: { type: 'RESULT', at: CREATED + 4_000, by: 'agent:a', code: 3, message: 'exit status 3' },
  CANCEL: { type: 'CANCEL', at: CREATED + 500, by: 'key:k' },
  DEADLINE_EARLY: { type: 'DEADLINE', at: DELIVERY_DEADLINE - 1 },
  DEADLINE_DELIVERY: { type: 'DEADLINE', at: DELIVERY_DEADLINE },
  DEADLINE_EXECUTION: { type: 'DEADLINE', at: CONFIRMED_AT + EXECUTION_TIMEOUT },
} satisfies Record<string, CommandMachineEvent>;
type EventName = keyof typeof EVENTS;
const nameOf = new Map(Object.entries(EVENTS).map(([name, event]) => [JSON.stringify(event), name as EventName]));

/** The design: the effects of each transition, in order (`persist(cause)`; `+claim` takes the claim lease). */
const RELEASE = 'releaseFromConnection';
const FINAL = (cause: string) => [`persist(${cause})`, 'retire'];
/** A success first stages what it changes beyond the command, which its `persist` writes. */
const SUCCESS = ['applyResult', ...FINAL('result')];
const EFFECTS: Partial<Record<`${CommandStatus} ${EventName}`, string[]>> = {
  'pending CLAIM': ['persist(claimed+claim)', 'handToConnection'],
  'pending CANCEL': FINAL('cancelled'),
  'pending DEADLINE_DELIVERY': FINAL('deadline'),
  'pending DEADLINE_EXECUTION': FINAL('deadline'),
  'pending RESULT_OK': SUCCESS,
  'pending RESULT_ERR': FINAL('result'),
  'sent TRANSPORT_CONFIRMED': [RELEASE, 'persist(delivered)', 'armExecutionDeadline', 'observeDelivery'],
  'sent TRANSPORT_FAILED': [RELEASE, 'persist(transport_failed)', 'enqueue'],
  'sent RECOVER': [RELEASE, 'persist(recovered)', 'enqueue'],
  'sent LEASE_EXPIRED': [RELEASE, 'persist(lease_expired)', 'enqueue'],
  'sent DEADLINE_DELIVERY': [RELEASE, ...FINAL('deadline')],
  'sent DEADLINE_EXECUTION': [RELEASE, ...FINAL('deadline')],
  'sent RESULT_OK': [RELEASE, ...SUCCESS],
  'sent RESULT_ERR': [RELEASE, ...FINAL('result')],
  'delivered RESULT_OK': SUCCESS,
  'delivered RESULT_ERR': FINAL('result'),
  'delivered DEADLINE_EXECUTION': FINAL('deadline'),
  // Anything else changes nothing and runs nothing.
};

const doc: CommandDocument = {
  document_id: 'c-1',
  '@timestamp': new Date(CREATED).toISOString(),
  delivery_timestamp: new Date(DELIVERY_DEADLINE).toISOString(),
  agent: { id: 'a', groups: [] },
  command: { source: 'test', target: { type: 'agent', id: 'a' }, action: { name: 'restart', args: {}, version: '5' }, timeout: 10, request_id: 'r', order_id: 'o' },
  route: 'agent:a',
  seq: 1,
};

/** Fake effects: each records its name; `persist` also checks it sees the new state and the old one. */
function recordingEffects(calls: string[]): CommandEffects {
  const plain = (name: string) => () => void calls.push(name);
  return {
    persist(command: LiveCommand, step: Step, params: PersistParams) {
      assert.notEqual(command.status, step.from, 'persist runs on a changed state');
      calls.push(`persist(${params.cause}${params.claim ? '+claim' : ''})`);
      command.write = Promise.resolve('ok');
    },
    applyResult: plain('applyResult'),
    enqueue: plain('enqueue'),
    handToConnection: plain('handToConnection'),
    releaseFromConnection: plain(RELEASE),
    armExecutionDeadline: plain('armExecutionDeadline'),
    observeDelivery: plain('observeDelivery'),
    retire: plain('retire'),
  };
}

const traversal = {
  input: { deliveryDeadline: DELIVERY_DEADLINE, executionTimeoutMs: EXECUTION_TIMEOUT },
  events: Object.values(EVENTS) as CommandMachineEvent[],
  // One retry covers every edge; CLAIM → TRANSPORT_FAILED → CLAIM … is otherwise unbounded.
  filterEvents: (snapshot: { context: { attempts: number } }, event: CommandMachineEvent) => !(event.type === 'CLAIM' && snapshot.context.attempts >= 2),
};

describe('the runtime runs the effects the command machine names', () => {
  const paths = getSimplePaths(commandMachine, traversal);

  test('there are paths into every final state', () => {
    const ends = new Set(paths.map((p) => String(p.state.value)));
    for (const state of ['success', 'failure', 'timed_out', 'cancelled']) assert.ok(ends.has(state), state);
  });

  test('on every path, each step runs exactly the effects of its transition, in order', () => {
    const seen = new Set<string>();
    for (const path of paths) {
      const calls: string[] = [];
      const live = new LiveCommand(
        doc,
        { status: 'pending', result: null, deliveredAt: null, executionDeadline: null, attempts: 0 },
        {
          effects: recordingEffects(calls),
          executionTimeoutMs: EXECUTION_TIMEOUT,
          onError: (error) => assert.fail(String(error)),
        },
      );
      // Every event of the alphabet is tried at each step; the path's own event is sent last.
      for (const step of path.steps.slice(1)) {
        const name = nameOf.get(JSON.stringify(step.event))!;
        const key = `${live.status} ${name}` as const;
        calls.length = 0;
        const written = live.send(step.event);
        assert.deepEqual(calls, EFFECTS[key] ?? [], key);
        assert.equal(live.status, step.state.value, key);
        // The write is the one `persist` made: none when nothing was taken.
        assert.equal(written === null, EFFECTS[key] === undefined, key);
        seen.add(key);
      }
    }
    // Every transition of the design was exercised by some path.
    assert.deepEqual(
      [...Object.keys(EFFECTS)].filter((key) => !seen.has(key)),
      [],
    );
  });

  test('an event a state does not take runs nothing', () => {
    for (const status of ['pending', 'sent', 'delivered'] as const) {
      for (const [name, event] of Object.entries(EVENTS)) {
        if (EFFECTS[`${status} ${name as EventName}`]) continue;
        const calls: string[] = [];
        const live = new LiveCommand(
          doc,
          {
            status,
            result: null,
            deliveredAt: status === 'delivered' ? CONFIRMED_AT : null,
            executionDeadline: status === 'delivered' ? CONFIRMED_AT + EXECUTION_TIMEOUT : null,
            attempts: 1,
          },
          {
            effects: recordingEffects(calls),
            executionTimeoutMs: EXECUTION_TIMEOUT,
            onError: (error) => assert.fail(String(error)),
          },
        );
        assert.equal(live.send(event), null, `${status} ${name}`);
        assert.deepEqual(calls, [], `${status} ${name}`);
        assert.equal(live.status, status);
      }
    }
  });

  test('every effect the machine names is implemented by the runtime, and nothing else', () => {
    const named = new Set<string>();
    const collect = (actions: unknown) => {
      for (const action of ([] as unknown[]).concat(actions ?? [])) {
        const type = typeof action === 'string' ? action : (action as { type?: unknown }).type;
        if (typeof type === 'string') named.add(type);
      }
    };
    for (const state of Object.values(commandMachine.config.states ?? {})) {
      collect(state.entry);
      collect(state.exit);
      for (const transitions of Object.values(state.on ?? {})) {
        for (const t of ([] as unknown[]).concat(transitions)) collect((t as { actions?: unknown }).actions);
      }
    }
    // The machine's own context updates (assign) are not effects.
    for (const assignment of ['countAttempt', 'recordDelivery', 'recordResult']) named.delete(assignment);
    const implemented = Object.keys(commandEffects({} as Parameters<typeof commandEffects>[0]));
    assert.deepEqual([...named].sort(), implemented.sort());
  });
});
