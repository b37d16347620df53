import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandDocument } from '../../src/domain/command.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { TransitionRecord } from '../../src/store/store.js';

function doc(id: string, seq: number): CommandDocument {
  return {
    document_id: id,
    '@timestamp': '2026-01-01T00:00:00.000Z',
    delivery_timestamp: '2026-01-01T01:00:00.000Z',
    agent: { id: 'a1', groups: [] },
    command: { source: 's', user: 'u', target: { type: 'agent', id: 'a1' }, action: { name: 'x', args: {}, version: '1' }, timeout: 3600, request_id: 'r', order_id: 'o' },
    route: 'agent:a1',
    seq,
  } as CommandDocument;
}
const created = (id: string): TransitionRecord => ({ document_id: id, from: null, to: 'pending', cause: 'created', at: 1, node: 'n', actor: 't' });

async function withStore(run: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-'));
  const store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
  try {
    await store.open();
    await run(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('creating a document_id that exists reports it as not created and changes nothing', () =>
  withStore(async (store) => {
    assert.deepEqual((await store.commit({ creates: [{ doc: doc('c1', 1), audit: created('c1') }], changes: [] })).created, [true]);
    assert.deepEqual((await store.commit({ creates: [{ doc: doc('c1', 2), audit: created('c1') }], changes: [] })).created, [false]);
    assert.equal((await store.getCommand('c1'))!.doc.seq, 1);
    assert.equal((await store.history('c1')).length, 1, 'no second creation record');
  }));

test('a new document_id with a seq already taken fails the whole commit instead of vanishing', () =>
  withStore(async (store) => {
    await store.commit({ creates: [{ doc: doc('c1', 1), audit: created('c1') }], changes: [] });
    // Before: INSERT OR IGNORE swallowed the seq collision and reported c2 as "already there",
    // though no such command exists.
    await assert.rejects(store.commit({ creates: [{ doc: doc('c3', 3), audit: created('c3') }, { doc: doc('c2', 1), audit: created('c2') }], changes: [] }), /UNIQUE/);
    assert.equal(await store.getCommand('c2'), null);
    assert.equal(await store.getCommand('c3'), null, 'the transaction was rolled back');
  }));
