/**
 * Tests of the supervisor lifecycle (machines/supervisor.machine.ts). Its invoked promise actors
 * are provided with promises the test settles by hand, so every transition happens exactly when
 * the test decides; no timers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, type AnyActorLogic } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.machine.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets promise callbacks (and the events they send to the supervisor) run: one macrotask turn, no delay. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A supervisor whose `recover` and `drain` settle only when the test says so. */
function controlled() {
  const recover = deferred();
  const drain = deferred();
  const calls = { recover: 0, drain: 0 };
  const machine = supervisorMachine.provide({
    actors: {
      recover: fromPromise<void>(() => {
        calls.recover++;
        return recover.promise;
      }),
      drain: fromPromise<void>(() => {
        calls.drain++;
        return drain.promise;
      }),
    },
  });
  const actor = createActor(machine).start();
  const value = () => actor.getSnapshot().value;
  const status = () => actor.getSnapshot().status;
  return { actor, recover, drain, calls, value, status };
}

describe('supervisor: starting', () => {
  test('waits in starting while recover is pending', async () => {
    const s = controlled();
    await settle();
    assert.equal(s.value(), 'starting');
    assert.equal(s.calls.recover, 1);
    assert.equal(s.calls.drain, 0);
    s.actor.stop();
  });

  test('starting → running when recover resolves', async () => {
    const s = controlled();
    s.recover.resolve();
    await settle();
    assert.equal(s.value(), 'running');
    assert.equal(s.status(), 'active');
    assert.equal(s.calls.drain, 0);
    s.actor.stop();
  });

  test('starting → failed when recover rejects; failed is final', async () => {
    const s = controlled();
    s.recover.reject(new Error('store unreadable'));
    await settle();
    assert.equal(s.value(), 'failed');
    assert.equal(s.status(), 'done');
    s.actor.send({ type: 'STOP' });
    assert.equal(s.value(), 'failed');
    assert.equal(s.calls.drain, 0);
  });

  test('STOP during starting goes to draining, and a late recover no longer matters', async () => {
    const s = controlled();
    s.actor.send({ type: 'STOP' });
    assert.equal(s.value(), 'draining');
    await settle();
    assert.equal(s.calls.drain, 1);

    // Leaving `starting` stopped the recover actor: its late result is ignored.
    s.recover.resolve();
    await settle();
    assert.equal(s.value(), 'draining');

    s.drain.resolve();
    await settle();
    assert.equal(s.value(), 'stopped');
    assert.equal(s.status(), 'done');
  });
});

describe('supervisor: stopping', () => {
  async function running() {
    const s = controlled();
    s.recover.resolve();
    await settle();
    assert.equal(s.value(), 'running');
    return s;
  }

  test('running --STOP--> draining → stopped when drain resolves', async () => {
    const s = await running();
    s.actor.send({ type: 'STOP' });
    assert.equal(s.value(), 'draining');
    await settle();
    assert.equal(s.value(), 'draining');
    assert.equal(s.calls.drain, 1);

    s.drain.resolve();
    await settle();
    assert.equal(s.value(), 'stopped');
    assert.equal(s.status(), 'done');
  });

  test('draining → stopped also when drain rejects', async () => {
    const s = await running();
    s.actor.send({ type: 'STOP' });
    s.drain.reject(new Error('flush failed'));
    await settle();
    assert.equal(s.value(), 'stopped');
    assert.equal(s.status(), 'done');
  });

  test('a second STOP while draining does not start a second drain', async () => {
    const s = await running();
    s.actor.send({ type: 'STOP' });
    s.actor.send({ type: 'STOP' });
    await settle();
    assert.equal(s.value(), 'draining');
    assert.equal(s.calls.drain, 1);
    s.drain.resolve();
    await settle();
    assert.equal(s.value(), 'stopped');
  });

  test('stopped is final: STOP changes nothing', async () => {
    const s = await running();
    s.actor.send({ type: 'STOP' });
    s.drain.resolve();
    await settle();
    s.actor.send({ type: 'STOP' });
    await settle();
    assert.equal(s.value(), 'stopped');
    assert.equal(s.calls.drain, 1);
    assert.equal(s.calls.recover, 1);
  });
});

describe('supervisor: unprovided placeholders', () => {
  /** Runs one actor logic of the machine file on its own and returns how it ended. */
  async function outcome(logic: AnyActorLogic): Promise<{ done: boolean; error: unknown }> {
    const result = deferred();
    let done = false;
    let error: unknown;
    const actor = createActor(logic);
    actor.subscribe({
      complete: () => {
        done = true;
        result.resolve();
      },
      error: (err) => {
        error = err;
        result.resolve();
      },
    });
    actor.start();
    await result.promise;
    return { done, error };
  }

  for (const name of ['recover', 'drain'] as const) {
    test(`the "${name}" placeholder rejects, asking to be provided`, async () => {
      const logic = supervisorMachine.implementations.actors[name] as AnyActorLogic | undefined;
      assert.ok(logic, `the machine declares a "${name}" actor`);
      const { done, error } = await outcome(logic);
      assert.equal(done, false);
      assert.ok(error instanceof Error);
      assert.match(error.message, new RegExp(`provide the "${name}" actor`));
    });
  }

  test('the machine as exported (nothing provided) ends in failed', async () => {
    const actor = createActor(supervisorMachine).start();
    await settle();
    assert.equal(actor.getSnapshot().value, 'failed');
    assert.equal(actor.getSnapshot().status, 'done');
  });

  test('with only recover provided, the drain placeholder rejects and the supervisor still stops', async () => {
    const machine = supervisorMachine.provide({ actors: { recover: fromPromise<void>(async () => {}) } });
    const actor = createActor(machine).start();
    await settle();
    assert.equal(actor.getSnapshot().value, 'running');
    actor.send({ type: 'STOP' });
    await settle();
    assert.equal(actor.getSnapshot().value, 'stopped');
  });
});
