import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { SqliteWriter } from '../../../src/store/sqlite/sqlite-writer.js';
import { isStoreFailure, type WriteBatch } from '../../../src/store/store.js';
import { commandDoc, createdRecord } from '../../support/command-documents.js';

function create(id: string, seq: number): WriteBatch['creates'][number] {
  return { doc: commandDoc(id, seq), audit: createdRecord(id) };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a batch is committed by the writer thread before its promise resolves: another connection reads it at once', async (t) => {
  const file = join(tempDir(t), 'courier.db');
  const store = new SqliteStore({ file, synchronous: 'normal' });
  t.after(() => store.close());
  assert.deepEqual((await store.commit({ creates: [create('c1', 1)], changes: [] })).created, [true]);
  const reader = new Database(file, { readonly: true });
  t.after(() => reader.close());
  assert.deepEqual(reader.prepare('SELECT document_id, status FROM commands').all(), [{ document_id: 'c1', status: 'pending' }]);
  assert.equal((reader.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n, 1);
});

test("SQLite's refusal in the writer thread comes back with its code: a refusal of what was written, not a store failure", async (t) => {
  const store = new SqliteStore({ file: join(tempDir(t), 'courier.db'), synchronous: 'normal' });
  t.after(() => store.close());
  const bad = create('c1', 1);
  (bad.doc as { seq: unknown }).seq = 'not a number'; // STRICT table: a TEXT value in an INTEGER column
  const error = await store.commit({ creates: [bad], changes: [] }).then(
    () => assert.fail('committed'),
    (e: unknown) => e as Error & { code?: string },
  );
  assert.match(error.code ?? '', /^SQLITE_CONSTRAINT/);
  assert.equal(isStoreFailure(error), false);
  // The thread lives on: the next batch commits.
  assert.deepEqual((await store.commit({ creates: [create('c2', 2)], changes: [] })).created, [true]);
});

test('a writer thread that cannot open its file fails its batches as the store being unavailable, and is started again for the next', async (t) => {
  const writer = new SqliteWriter({ file: join(tempDir(t), 'no-such-dir', 'courier.db'), synchronous: 'normal' });
  t.after(() => writer.close());
  for (let i = 1; i <= 2; i++) {
    const error = await writer.commit({ creates: [create(`c${i}`, i)], changes: [] }).then(
      () => assert.fail('committed'),
      (e: unknown) => e,
    );
    assert.equal(isStoreFailure(error), true, `attempt ${i}: ${String(error)}`);
    assert.equal((error as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
  }
});

test('a closed writer refuses batches as the store being unavailable; batches handed over before the close are committed', async (t) => {
  const file = join(tempDir(t), 'courier.db');
  const store = new SqliteStore({ file, synchronous: 'normal' });
  const before = store.commit({ creates: [create('c1', 1)], changes: [] });
  await store.close();
  assert.deepEqual((await before).created, [true]);
  const error = await store.commit({ creates: [create('c2', 2)], changes: [] }).then(
    () => assert.fail('committed'),
    (e: unknown) => e,
  );
  assert.equal(isStoreFailure(error), true);
  const reader = new Database(file, { readonly: true });
  t.after(() => reader.close());
  assert.equal((reader.prepare('SELECT COUNT(*) AS n FROM commands').get() as { n: number }).n, 1);
});

test('an idle writer thread does not keep the process alive; one with a batch under way does until it is committed', (t) => {
  const file = join(tempDir(t), 'courier.db');
  const storeModule = fileURLToPath(new URL('../../../src/store/sqlite/sqlite-store.js', import.meta.url));
  // The script neither closes the store nor keeps anything else alive: it must end by itself, and
  // the batch it only awaits must be written first.
  const script = `
    const { SqliteStore } = await import(${JSON.stringify(storeModule)});
    const store = new SqliteStore({ file: ${JSON.stringify(file)}, synchronous: 'normal' });
    const doc = ${JSON.stringify(create('c1', 1))};
    const { created } = await store.commit({ creates: [doc], changes: [] });
    console.log(JSON.stringify(created));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
  assert.equal(out.trim(), '[true]');
  const reader = new Database(file, { readonly: true });
  t.after(() => reader.close());
  assert.equal((reader.prepare('SELECT COUNT(*) AS n FROM commands').get() as { n: number }).n, 1);
});
