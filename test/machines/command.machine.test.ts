/**
 * Model-based tests of the command lifecycle (machines/command.machine.ts).
 *
 * The machine is explored with the XState graph utilities over a finite event alphabet that
 * takes both sides of every guard. Every expectation below is written out literally from the
 * design, never derived from the machine, so adding or removing a transition fails a test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, transition, type SnapshotFrom } from 'xstate';
import { createTestModel, getAdjacencyMap, getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import { commandMachine, type CommandMachineContext, type CommandMachineEvent, type CommandMachineInput } from '../../machines/command.machine.js';

type Snapshot = SnapshotFrom<typeof commandMachine>;
type Path = StatePath<Snapshot, CommandMachineEvent>;

const STATES = ['pending', 'sent', 'delivered', 'success', 'failure', 'timed_out', 'cancelled'] as const;
type StateName = (typeof STATES)[number];
const FINAL_STATES: readonly StateName[] = ['success', 'failure', 'timed_out', 'cancelled'];

// Timeline of the model. Delivery is confirmed at 2_000, so the execution deadline is
// 2_000 + 20_000 = 22_000: deliberately LATER than the delivery deadline (10_000), so that
// DEADLINE_DELIVERY tells apart "delivered only watches the execution deadline".
const INPUT: CommandMachineInput = { deliveryDeadline: 10_000, executionTimeoutMs: 20_000 };
const CONFIRMED_AT = 2_000;
const EXECUTION_DEADLINE = 22_000;

const EVENTS = {
  CLAIM: { type: 'CLAIM', at: 1_000 },
  TRANSPORT_CONFIRMED: { type: 'TRANSPORT_CONFIRMED', at: CONFIRMED_AT },
  TRANSPORT_FAILED: { type: 'TRANSPORT_FAILED', at: 2_000 },
  RECOVER: { type: 'RECOVER', at: 3_000 },
  LEASE_EXPIRED: { type: 'LEASE_EXPIRED', at: 3_000 },
  RESULT_OK: { type: 'RESULT', at: 4_000, code: 0, message: 'ok' },
  RESULT_ERR: { type: 'RESULT', at: 4_000, code: 3, message: 'exit status 3', data: { stderr: 'no such file' } },
  CANCEL: { type: 'CANCEL', at: 500 },
  /** Before every deadline. */
  DEADLINE_EARLY: { type: 'DEADLINE', at: 9_999 },
  /** Exactly the delivery deadline (the guard is `at >= deadline`); before the execution deadline. */
  DEADLINE_DELIVERY: { type: 'DEADLINE', at: 10_000 },
  /** Exactly the execution deadline: both deadlines have passed. */
  DEADLINE_EXECUTION: { type: 'DEADLINE', at: EXECUTION_DEADLINE },
} satisfies Record<string, CommandMachineEvent>;
type EventName = keyof typeof EVENTS;
const EVENT_LIST: CommandMachineEvent[] = Object.values(EVENTS);
const EVENT_NAMES = Object.keys(EVENTS) as EventName[];

/** The design, literally: state × event → next state. An event the design does not list changes nothing. */
const TRANSITIONS: Record<StateName, Record<EventName, StateName>> = {
  pending: {
    CLAIM: 'sent',
    TRANSPORT_CONFIRMED: 'pending',
    TRANSPORT_FAILED: 'pending',
    RECOVER: 'pending',
    LEASE_EXPIRED: 'pending',
    RESULT_OK: 'success', // a late result of an earlier delivery
    RESULT_ERR: 'failure',
    CANCEL: 'cancelled',
    DEADLINE_EARLY: 'pending',
    DEADLINE_DELIVERY: 'timed_out',
    DEADLINE_EXECUTION: 'timed_out',
  },
  sent: {
    CLAIM: 'sent',
    TRANSPORT_CONFIRMED: 'delivered',
    TRANSPORT_FAILED: 'pending',
    RECOVER: 'pending',
    LEASE_EXPIRED: 'pending',
    RESULT_OK: 'success',
    RESULT_ERR: 'failure',
    CANCEL: 'sent', // refused: it may already be running on the target
    DEADLINE_EARLY: 'sent',
    DEADLINE_DELIVERY: 'timed_out',
    DEADLINE_EXECUTION: 'timed_out',
  },
  delivered: {
    CLAIM: 'delivered',
    TRANSPORT_CONFIRMED: 'delivered',
    TRANSPORT_FAILED: 'delivered',
    RECOVER: 'delivered',
    LEASE_EXPIRED: 'delivered',
    RESULT_OK: 'success',
    RESULT_ERR: 'failure',
    CANCEL: 'delivered', // refused
    DEADLINE_EARLY: 'delivered',
    DEADLINE_DELIVERY: 'delivered', // the delivery deadline no longer applies once delivered
    DEADLINE_EXECUTION: 'timed_out',
  },
  success: allTo('success'),
  failure: allTo('failure'),
  timed_out: allTo('timed_out'),
  cancelled: allTo('cancelled'),
};

function allTo(state: StateName): Record<EventName, StateName> {
  return {
    CLAIM: state,
    TRANSPORT_CONFIRMED: state,
    TRANSPORT_FAILED: state,
    RECOVER: state,
    LEASE_EXPIRED: state,
    RESULT_OK: state,
    RESULT_ERR: state,
    CANCEL: state,
    DEADLINE_EARLY: state,
    DEADLINE_DELIVERY: state,
    DEADLINE_EXECUTION: state,
  };
}

// CLAIM → TRANSPORT_FAILED/RECOVER → CLAIM … is an unbounded cycle once `attempts` is part of
// the state, so the exploration stops claiming after the second attempt (one retry is enough
// to cover every edge).
const MAX_ATTEMPTS_EXPLORED = 2;
const traversal = {
  input: INPUT,
  events: EVENT_LIST,
  filterEvents: (snapshot: Snapshot, event: CommandMachineEvent) => !(event.type === 'CLAIM' && snapshot.context.attempts >= MAX_ATTEMPTS_EXPLORED),
  // The inputs (deliveryDeadline, executionTimeoutMs) are constant; the rest of the context is state.
  serializeState: (snapshot: Snapshot) =>
    JSON.stringify({
      value: snapshot.value,
      attempts: snapshot.context.attempts,
      deliveredAt: snapshot.context.deliveredAt,
      executionDeadline: snapshot.context.executionDeadline,
      result: snapshot.context.result,
    }),
};

const eventNameOf = new Map(EVENT_NAMES.map((name) => [JSON.stringify(EVENTS[name]), name]));
function nameOf(event: CommandMachineEvent): EventName {
  const name = eventNameOf.get(JSON.stringify(event));
  assert.ok(name, `event outside the model alphabet: ${JSON.stringify(event)}`);
  return name;
}

function valueOf(snapshot: Snapshot): StateName {
  assert.equal(typeof snapshot.value, 'string');
  assert.ok((STATES as readonly string[]).includes(snapshot.value), `unknown state ${String(snapshot.value)}`);
  return snapshot.value;
}

/** The events of a graph path (its first step is the synthetic `xstate.init`). */
function eventsOf(path: Path): CommandMachineEvent[] {
  return path.steps.slice(1).map((step) => step.event);
}
function describePath(path: Path): string {
  const events = eventsOf(path).map(nameOf);
  return `${events.length ? events.join(' → ') : '(initial)'} ⇒ ${valueOf(path.state)}`;
}

const initialContext: CommandMachineContext = {
  deliveryDeadline: 10_000,
  executionTimeoutMs: 20_000,
  executionDeadline: null,
  deliveredAt: null,
  attempts: 0,
  result: null,
};

describe('command machine: transition table', () => {
  const adjacency = getAdjacencyMap(commandMachine, traversal);
  const nodes = Object.values(adjacency).map((entry) => entry.state);

  test('the initial state is pending with the input copied into the context', () => {
    const actor = createActor(commandMachine, { input: INPUT });
    assert.equal(actor.getSnapshot().value, 'pending');
    assert.deepEqual(actor.getSnapshot().context, initialContext);
  });

  test('the exploration reaches every state value', () => {
    assert.deepEqual([...new Set(nodes.map(valueOf))].sort(), [...STATES].sort());
  });

  test('every state × every event goes exactly where the design says', () => {
    const mismatches: string[] = [];
    for (const node of nodes) {
      const from = valueOf(node);
      for (const name of EVENT_NAMES) {
        // Taken from the adjacency map when explored; the one filtered edge (CLAIM at the
        // exploration cap) is computed with the same pure `transition`.
        const explored = adjacency[traversal.serializeState(node) as keyof typeof adjacency]?.transitions;
        const next = Object.values(explored ?? {}).find((t) => nameOf(t.event) === name)?.state ?? transition(commandMachine, node, EVENTS[name])[0];
        const expected = TRANSITIONS[from][name];
        if (valueOf(next) !== expected) {
          mismatches.push(`${from} (attempts ${node.context.attempts}) --${name}--> ${valueOf(next)}, expected ${expected}`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test('an event that changes nothing leaves the context untouched too', () => {
    for (const node of nodes) {
      const from = valueOf(node);
      for (const name of EVENT_NAMES) {
        if (TRANSITIONS[from][name] !== from) continue;
        const [next] = transition(commandMachine, node, EVENTS[name]);
        assert.deepEqual(next.context, node.context, `${from} --${name}-->`);
        assert.equal(next.status, node.status, `${from} --${name}-->`);
      }
    }
  });

  test('final states are done, the others active', () => {
    for (const node of nodes) {
      assert.equal(node.status, FINAL_STATES.includes(valueOf(node)) ? 'done' : 'active', describeSnapshot(node));
    }
  });
});

function describeSnapshot(snapshot: Snapshot): string {
  return `${String(snapshot.value)} ${JSON.stringify(snapshot.context)}`;
}

describe('command machine: reachability (shortest paths)', () => {
  const paths = getShortestPaths(commandMachine, traversal);

  test('every one of the 7 state values is reached', () => {
    assert.deepEqual([...new Set(paths.map((p) => valueOf(p.state)))].sort(), [...STATES].sort());
  });

  test('the fewest events to reach each state value', () => {
    const fewest = new Map<StateName, number>();
    for (const path of paths) {
      const value = valueOf(path.state);
      fewest.set(value, Math.min(fewest.get(value) ?? Infinity, eventsOf(path).length));
    }
    assert.deepEqual(Object.fromEntries([...fewest].sort()), {
      cancelled: 1, // CANCEL
      delivered: 2, // CLAIM → TRANSPORT_CONFIRMED
      failure: 1, // RESULT (code ≠ 0) on a pending command
      pending: 0,
      sent: 1, // CLAIM
      success: 1, // RESULT (code 0) on a pending command
      timed_out: 1, // DEADLINE after the delivery deadline
    });
  });
});

describe('command machine: every simple path keeps the rules', () => {
  const paths = getSimplePaths(commandMachine, traversal);

  test('there are simple paths into every state value', () => {
    assert.deepEqual([...new Set(paths.map((p) => valueOf(p.state)))].sort(), [...STATES].sort());
  });

  test('each step of each path follows the table and keeps the context invariants', () => {
    for (const path of paths) {
      const label = describePath(path);
      const states = path.steps.map((step) => step.state);
      const events = eventsOf(path);
      assert.deepEqual(states[0]?.context, initialContext, label);

      let claims = 0;
      let deliveredAt: number | null = null;
      let lastResult: CommandMachineContext['result'] = null;
      for (let i = 1; i < states.length; i++) {
        const before = valueOf(states[i - 1]!);
        const after = states[i]!;
        const event = events[i - 1]!;
        const name = nameOf(event);
        const at = `${label} (step ${i}: ${before} --${name}--> ${valueOf(after)})`;

        assert.equal(valueOf(after), TRANSITIONS[before][name], at);
        // A final state is entered once, and nothing follows it.
        assert.ok(!FINAL_STATES.includes(before), `${at}: left a final state`);

        if (before === 'pending' && name === 'CLAIM') claims++;
        if (before === 'sent' && name === 'TRANSPORT_CONFIRMED') deliveredAt = event.at;
        if (event.type === 'RESULT' && (before === 'pending' || before === 'sent' || before === 'delivered')) {
          lastResult = event.data === undefined ? { code: event.code, message: event.message } : { code: event.code, message: event.message, data: event.data };
        }

        const ctx = after.context;
        assert.equal(ctx.deliveryDeadline, INPUT.deliveryDeadline, at);
        assert.equal(ctx.executionTimeoutMs, INPUT.executionTimeoutMs, at);
        assert.equal(ctx.attempts, claims, `${at}: attempts counts accepted CLAIMs`);
        assert.equal(ctx.deliveredAt, deliveredAt, `${at}: deliveredAt`);
        assert.equal(ctx.executionDeadline, deliveredAt === null ? null : deliveredAt + INPUT.executionTimeoutMs, `${at}: executionDeadline = delivery time + executionTimeoutMs`);
        const value = valueOf(after);
        if (value === 'success' || value === 'failure') {
          assert.deepEqual(ctx.result, lastResult, `${at}: result recorded`);
          assert.equal(ctx.result?.code === 0, value === 'success', `${at}: code 0 ⇔ success`);
        } else {
          assert.equal(ctx.result, null, `${at}: no result outside success/failure`);
        }
        assert.equal(after.status, FINAL_STATES.includes(value) ? 'done' : 'active', at);
      }
    }
  });

  test('a few paths the design names are among them', () => {
    const described = new Set(paths.map(describePath));
    for (const expected of [
      'CLAIM → TRANSPORT_CONFIRMED → RESULT_OK ⇒ success',
      'CLAIM → TRANSPORT_CONFIRMED → RESULT_ERR ⇒ failure',
      'CLAIM → TRANSPORT_CONFIRMED → DEADLINE_EXECUTION ⇒ timed_out',
      'CLAIM → TRANSPORT_FAILED → CLAIM → TRANSPORT_CONFIRMED → RESULT_OK ⇒ success',
      'CLAIM → RECOVER → RESULT_ERR ⇒ failure',
      'CLAIM → DEADLINE_DELIVERY ⇒ timed_out',
      'CANCEL ⇒ cancelled',
    ]) {
      assert.ok(described.has(expected), `missing path ${expected}`);
    }
    // And no path cancels after a claim, nor times out a delivered command at the delivery deadline.
    for (const label of described) {
      assert.doesNotMatch(label, /(CLAIM|TRANSPORT_CONFIRMED) → CANCEL/);
      assert.doesNotMatch(label, /TRANSPORT_CONFIRMED → DEADLINE_DELIVERY ⇒ timed_out/);
    }
  });
});

describe('command machine: generated paths replayed on a real actor (createTestModel)', () => {
  // Same alphabet, cap and serialization as above. The model drops paths that are a prefix
  // of a longer one; every step of a replayed path is checked, so prefixes stay covered.
  const model = createTestModel(commandMachine, {
    events: EVENT_LIST,
    filterEvents: traversal.filterEvents,
    serializeState: traversal.serializeState,
  });
  const paths = model.getSimplePaths({ input: INPUT });

  test('the model generates paths', () => {
    assert.ok(paths.length > 0);
  });

  for (const path of paths) {
    test(describePath(path), async () => {
      const actor = createActor(commandMachine, { input: INPUT }).start();
      // Each step sends the path's event to the real actor, then checks that the actor is
      // where the model says, context included.
      const send = (step: { event: { type: string } }) => {
        actor.send(step.event as CommandMachineEvent);
      };
      await path.test({
        events: {
          CLAIM: send,
          TRANSPORT_CONFIRMED: send,
          TRANSPORT_FAILED: send,
          RECOVER: send,
          LEASE_EXPIRED: send,
          RESULT: send,
          CANCEL: send,
          DEADLINE: send,
        },
        states: {
          '*': (expected) => {
            const actual = actor.getSnapshot();
            assert.equal(actual.value, expected.value);
            assert.deepEqual(actual.context, expected.context);
            assert.equal(actual.status, expected.status);
          },
        },
      });
      assert.equal(actor.getSnapshot().value, path.state.value);
      actor.stop();
    });
  }
});

describe('command machine: restoring after a restart', () => {
  test('a restored `sent` command goes back to pending on RECOVER, keeping its attempts', () => {
    const snapshot = commandMachine.resolveState({
      value: 'sent',
      context: { ...initialContext, attempts: 1 },
    });
    const actor = createActor(commandMachine, { snapshot, input: INPUT }).start();
    assert.equal(actor.getSnapshot().value, 'sent');
    assert.equal(actor.getSnapshot().status, 'active');

    actor.send({ type: 'RECOVER', at: 5_000 });
    assert.equal(actor.getSnapshot().value, 'pending');
    assert.equal(actor.getSnapshot().context.attempts, 1);

    actor.send({ type: 'CLAIM', at: 5_001 });
    assert.equal(actor.getSnapshot().value, 'sent');
    assert.equal(actor.getSnapshot().context.attempts, 2);
    actor.stop();
  });

  test('a restored `delivered` command times out only at its stored execution deadline', () => {
    const snapshot = commandMachine.resolveState({
      value: 'delivered',
      context: { ...initialContext, attempts: 1, deliveredAt: CONFIRMED_AT, executionDeadline: EXECUTION_DEADLINE },
    });
    const actor = createActor(commandMachine, { snapshot, input: INPUT }).start();
    assert.equal(actor.getSnapshot().value, 'delivered');

    // Past the delivery deadline but not the execution deadline: still waiting for a result.
    actor.send({ type: 'DEADLINE', at: EXECUTION_DEADLINE - 1 });
    assert.equal(actor.getSnapshot().value, 'delivered');

    actor.send({ type: 'DEADLINE', at: EXECUTION_DEADLINE });
    assert.equal(actor.getSnapshot().value, 'timed_out');
    assert.equal(actor.getSnapshot().status, 'done');
    assert.equal(actor.getSnapshot().context.result, null);
    actor.stop();
  });

  test('a persisted snapshot survives a JSON round trip', () => {
    const first = createActor(commandMachine, { input: INPUT }).start();
    first.send(EVENTS.CLAIM);
    first.send(EVENTS.TRANSPORT_CONFIRMED);
    const stored: unknown = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    const second = createActor(commandMachine, { snapshot: stored as Snapshot, input: INPUT }).start();
    assert.equal(second.getSnapshot().value, 'delivered');
    assert.equal(second.getSnapshot().context.executionDeadline, EXECUTION_DEADLINE);
    second.send(EVENTS.RESULT_ERR);
    assert.equal(second.getSnapshot().value, 'failure');
    assert.deepEqual(second.getSnapshot().context.result, {
      code: 3,
      message: 'exit status 3',
      data: { stderr: 'no such file' },
    });
    second.stop();
  });
});
