import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { decodeWriteBatch, encodeWriteBatch } from '../../../src/store/sqlite/write-batch-wire.js';
import type { WriteBatch } from '../../../src/store/store.js';
import { commandDoc, createdRecord } from '../../support/command-documents.js';

/** Every optional part present in one write and absent in another. */
function batch(): WriteBatch {
  const full = commandDoc('c1', 1);
  full.owner = 'key:k1';
  full.job = { id: 'j1', step: 2, attempt: 3 };
  full.command.action.args = { path: '/etc', nested: { list: [1, 'two', null] } };
  const bare = commandDoc('c2', 2);
  delete bare.command.user;
  bare.agent = { id: null, groups: ['g1', 'g2'] };
  bare.command.target = { type: 'server', id: 'upgrade' };
  bare.route = 'server:upgrade';
  return {
    creates: [
      { doc: full, audit: createdRecord('c1') },
      { doc: bare, audit: createdRecord('c2') },
    ],
    changes: [
      {
        document_id: 'c1',
        seq: 1,
        status: 'sent',
        result: null,
        deliveredAt: null,
        executionDeadline: null,
        attempts: 1,
        claim: { node: 'n1', until: 61_000 },
        audit: { document_id: 'c1', from: 'pending', to: 'sent', cause: 'claimed', at: 1_000, node: 'n1', actor: 'agent:a1' },
      },
      {
        document_id: 'c2',
        seq: 2,
        status: 'success',
        result: { code: 0, message: 'done', data: { groups: ['g3'] } },
        deliveredAt: 2_000,
        executionDeadline: 602_000,
        attempts: 1,
        claim: null,
        audit: { document_id: 'c2', from: 'delivered', to: 'success', cause: 'result', at: 3_000, node: 'n1', actor: 'agent:a2' },
        membership: { agent_id: 'a2', groups: ['g3'], document_id: 'c2', cause: 'set-group', at: 3_000, node: 'n1', actor: 'agent:a2' },
      },
    ],
  };
}

/** What the writer thread receives: the encoded batch after a structured clone, as `postMessage` copies it. */
async function acrossThreads(wire: unknown): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise((resolve) => port2.once('message', resolve));
  port1.postMessage(wire);
  const copy = await received;
  port1.close();
  return copy;
}

test('a batch crosses to the writer thread and comes back as the same creates and changes, optional parts and all', async () => {
  const original = batch();
  const decoded = decodeWriteBatch((await acrossThreads(encodeWriteBatch(original))) as ReturnType<typeof encodeWriteBatch>);
  assert.deepStrictEqual(decoded, original);
});

test('a write crosses as one flat array of plain values: no object per write but what the write carries (args, result, membership)', () => {
  const wire = encodeWriteBatch(batch());
  for (const row of [...wire.creates, ...wire.changes]) {
    assert.ok(Array.isArray(row));
    const objects = row.filter((value) => typeof value === 'object' && value !== null && !Array.isArray(value));
    assert.ok(objects.length <= 2, `at most args, or a result and a membership change: ${JSON.stringify(objects)}`);
  }
  assert.deepEqual(wire.changes[0]!.slice(0, 3), ['c1', 1, 'sent']);
});
