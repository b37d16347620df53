import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { commandDoc, createdRecord } from '../support/command-documents.js';
import { databaseBefore } from '../support/sqlite-migrations.js';

// The request index's target became a column written with the row (it was generated from the
// document): rows written before keep theirs, and rows written after carry it.
test("a store made before the request index's target was written keeps every command's target, and new commands carry theirs", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-migration-'));
  try {
    const file = join(dir, 'courier.db');
    const before = databaseBefore(file, 'DROP COLUMN target');
    const old = commandDoc('old', 1);
    old.command.target = { type: 'server', id: 'upgrade' };
    before
      .prepare(
        `INSERT INTO commands (document_id, seq, route, agent_id, request_id, action, status, created_at, delivery_deadline, attempts, updated_at, doc)
         VALUES ('old', 1, 'server:upgrade', NULL, 'r', 'x', 'pending', 1, 2, 0, 1, ?)`,
      )
      .run(JSON.stringify(old));
    before.close();

    const store = new SqliteStore({ file, synchronous: 'normal' });
    await store.open();
    await store.commit({ creates: [{ doc: commandDoc('new', 2), audit: createdRecord('new') }], changes: [] });
    await store.close();

    const after = new Database(file, { readonly: true });
    try {
      assert.equal(after.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.deepEqual(after.prepare('SELECT document_id, target FROM commands ORDER BY seq').all(), [
        { document_id: 'old', target: 'server:upgrade' },
        { document_id: 'new', target: 'agent:a1' },
      ]);
    } finally {
      after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
