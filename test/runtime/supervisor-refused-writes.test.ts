import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CourierError } from '../../src/errors.js';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/** A value JSON.stringify cannot write: it overflows the stack. */
function tooDeep(levels = 20_000): unknown {
  let value: unknown = [];
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/**
 * Behind the edge's limits, the runtime itself must hold: a write the store refuses (here a result
 * SQLite's serializer cannot write, handed straight to the supervisor) fails for its caller only,
 * while the writes batched with it commit and courier stays healthy. Real SQLite file.
 */
describe('a write the store refuses', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.addAgent('poison');
    await h.addAgent('bystander');
  });
  after(() => h.stop());

  test('fails only its own caller; writes of the same turn commit, and the command keeps its stored state', async () => {
    const [poisoned] = await h.send([command({ type: 'agent', id: 'poison' })]);
    const [other] = await h.send([command({ type: 'agent', id: 'bystander' })]);
    const { supervisor } = h.courier;

    // In one turn of the event loop, so that they share one store transaction.
    const refused = supervisor.reportResults([{ document_id: poisoned!.document_id, code: 0, message: 'x', data: tooDeep() }], null, 'test');
    const recorded = supervisor.reportResults([{ document_id: other!.document_id, code: 0, message: 'ok' }], null, 'test');
    const created = supervisor.submit([{ source: 's', target: { type: 'agent', id: 'bystander' }, action: { name: 'restart', args: {}, version: '' }, timeout: 60 }], 'test');

    await assert.rejects(refused, (error) => error instanceof CourierError && error.code === 'COURIER_ERR_STORE_REJECTED');
    assert.equal((await recorded)[0]!.outcome, 'recorded');
    const [fresh] = await created;
    assert.equal(fresh!.status, 'pending');

    assert.equal(supervisor.storeWriteProblem, null, 'a refused write is not a failing store');
    const health = await h.admin('GET', '/healthz');
    assert.equal(health.status, 200, JSON.stringify(health.body));

    // The refused result left no trace: the command is as stored (pending), and a proper result is recorded.
    const stored = await h.admin('GET', `/api/v1/commands/${poisoned!.document_id}`);
    assert.equal((stored.body as { status: string }).status, 'pending');
    const [outcome] = await supervisor.reportResults([{ document_id: poisoned!.document_id, code: 1, message: 'failed properly' }], null, 'test');
    assert.equal(outcome!.outcome, 'recorded');
    assert.equal(outcome!.status, 'failure');
    const history = await h.admin('GET', `/api/v1/commands/${poisoned!.document_id}/history`);
    assert.deepEqual(
      (history.body as { events: { to: string }[] }).events.map((e) => e.to),
      ['pending', 'failure'],
    );
  });
});
