/**
 * The supervisor's mailbox runs the actions of a running supervisor's self-transitions itself. It
 * must run exactly what XState would (the same actions, for the same events, and nothing for the
 * others), in the same order when actions send events, and stop the supervisor as the actor would
 * when an action throws.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, setup, transition, type Actor } from 'xstate';
import { supervisorMachine, type SupervisorEvent } from '../../machines/supervisor.machine.js';
import { selfTransitionActions } from '../../src/runtime/self-transitions.js';
import { SupervisorMailbox } from '../../src/runtime/supervisor-mailbox.js';

const reply = { resolve: () => {}, reject: () => {} };
const EVENTS: SupervisorEvent[] = [
  ...(['SUBMIT', 'CANCEL', 'RESULTS', 'SUBSCRIBE', 'CONFIRMED'] as const).map((type) => ({ type, request: null, reply })),
  ...(['OBSERVED', 'ANNOUNCED', 'WRITTEN', 'UNSUBSCRIBED', 'REVOKE', 'WAKE', 'DEADLINES', 'SHED'] as const).map((type) => ({ type, request: null })),
  { type: 'STOP' },
];

/** The supervisor machine with every action recording its name, and recovery that succeeds at once. */
function recordingSupervisor(log: string[], overrides: Record<string, (args: { event: SupervisorEvent }) => void> = {}) {
  const names = Object.keys(supervisorMachine.implementations.actions);
  const actions = Object.fromEntries(names.map((name) => [name, overrides[name] ?? (({ event }: { event: SupervisorEvent }) => log.push(`${name}:${event.type}`))]));
  return supervisorMachine.provide({
    actions,
    actors: { recover: fromPromise(async () => {}), drain: fromPromise(async () => {}) },
  });
}

async function running(machine: ReturnType<typeof recordingSupervisor>): Promise<Actor<typeof supervisorMachine>> {
  const actor = createActor(machine);
  actor.start();
  await new Promise<void>((resolve) => actor.subscribe((s) => s.value === 'running' && resolve()));
  return actor;
}

describe('selfTransitionActions', () => {
  test("lists, for each event a running supervisor takes without leaving, the actions XState's transition() runs", () => {
    const machine = recordingSupervisor([]);
    const direct = selfTransitionActions(machine, 'running');
    const snapshot = machine.resolveState({ value: 'running', context: undefined });
    for (const event of EVENTS) {
      const [next, actions] = transition(machine, snapshot, event);
      const stays = next.value === 'running';
      assert.equal(direct.has(event.type), stays, `${event.type}: taken directly only if the supervisor stays running`);
      if (stays) {
        assert.deepEqual(
          direct.get(event.type)!.map((a) => a.type),
          actions.map((a) => a.type),
          event.type,
        );
      }
    }
    // Every edge event but STOP is one (UNSUBSCRIBED by the root's transition).
    assert.deepEqual(
      [...direct.keys()].sort(),
      EVENTS.map((e) => e.type)
        .filter((t) => t !== 'STOP')
        .sort(),
    );
  });

  test('leaves out transitions with a guard, a target or an action it cannot name', () => {
    const machine = setup({ guards: { ok: () => true }, actions: { named: () => {} } }).createMachine({
      initial: 'a',
      states: {
        a: {
          on: {
            PLAIN: { actions: 'named' },
            GUARDED: { guard: 'ok', actions: 'named' },
            MOVES: { target: 'b', actions: 'named' },
            INLINE: { actions: () => {} },
            CHOICE: [{ guard: 'ok', actions: 'named' }, { actions: 'named' }],
          },
        },
        b: {},
      },
    });
    assert.deepEqual([...selfTransitionActions(machine, 'a').keys()], ['PLAIN']);
    assert.throws(() => selfTransitionActions(machine, 'nowhere'), /no state "nowhere"/);
  });
});

describe('SupervisorMailbox', () => {
  /** Posts every event, each action posting a WAKE from inside the first SUBMIT; returns what ran, in order. */
  async function order(throughActor: boolean): Promise<string[]> {
    const log: string[] = [];
    let mailbox: SupervisorMailbox | null = null;
    let nested = false;
    const machine = recordingSupervisor(log, {
      submit: ({ event }) => {
        log.push(`submit:${event.type}`);
        if (nested) return;
        nested = true;
        mailbox!.tell('WAKE', 'route');
        mailbox!.tell('SHED', null);
        log.push('submit returns');
      },
    });
    const actor = await running(machine);
    mailbox = new SupervisorMailbox(actor, { throughActor, onError: (error) => assert.fail(String(error)) });
    void mailbox.ask('SUBMIT', null as never);
    mailbox.tell('OBSERVED', []);
    void mailbox.ask('CONFIRMED', null as never);
    return log;
  }

  test('runs the same actions in the same order as the actor, events sent from an action waiting until it returns', async () => {
    const direct = await order(false);
    assert.deepEqual(direct, await order(true));
    assert.deepEqual(direct, ['submit:SUBMIT', 'submit returns', 'wake:WAKE', 'shed:SHED', 'observe:OBSERVED', 'confirm:CONFIRMED']);
  });

  test('outside running, events go through the actor: a starting supervisor refuses by its root transition, a stopped one by the mailbox', async () => {
    const log: string[] = [];
    let recovered!: () => void;
    const machine = recordingSupervisor(log).provide({ actors: { recover: fromPromise(() => new Promise<void>((resolve) => (recovered = resolve))) } });
    const actor = createActor(machine);
    actor.start();
    const mailbox = new SupervisorMailbox(actor, { throughActor: false, onError: (error) => assert.fail(String(error)) });
    void mailbox.ask('SUBMIT', null as never);
    assert.deepEqual(log, ['refuse:SUBMIT']);
    recovered();
    await new Promise<void>((resolve) => actor.subscribe((s) => s.value === 'running' && resolve()));
    actor.send({ type: 'STOP' });
    await new Promise<void>((resolve) => actor.subscribe({ complete: resolve }));
    await assert.rejects(mailbox.ask('SUBMIT', null as never), { code: 'COURIER_ERR_SHUTTING_DOWN' });
    assert.deepEqual(log, ['refuse:SUBMIT']);
  });

  test('an action that throws stops the supervisor, as the actor would: the error is reported and later requests are refused', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const actor = await running(
      recordingSupervisor(log, {
        observe: () => {
          throw new Error('broken');
        },
      }),
    );
    const mailbox = new SupervisorMailbox(actor, { throughActor: false, onError: (error) => errors.push(error) });
    mailbox.tell('OBSERVED', []);
    assert.equal((errors[0] as Error).message, 'broken');
    assert.equal(actor.getSnapshot().status, 'stopped');
    await assert.rejects(mailbox.ask('CONFIRMED', null as never), { code: 'COURIER_ERR_SHUTTING_DOWN' });
    assert.deepEqual(log, []);
  });
});
