import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { UNFINISHED_STATUSES } from '../../../src/domain/command.js';
import { MIGRATIONS, UNFINISHED_CONDITION } from '../../../src/store/sqlite/schema.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { commandDoc, createdRecord } from '../../support/command-documents.js';
import { databaseBefore } from '../../support/sqlite-migrations.js';

test('the unfinished condition names the domain statuses, and a query saying it can use the partial index', () => {
  assert.equal(UNFINISHED_CONDITION, `(${UNFINISHED_STATUSES.map((s) => `status = '${s}'`).join(' OR ')})`);
  const db = new Database(':memory:');
  try {
    for (const migration of MIGRATIONS) db.exec(migration);
    // INDEXED BY fails to prepare ("no query solution") unless the WHERE implies the index's.
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT doc FROM commands INDEXED BY commands_unfinished WHERE ${UNFINISHED_CONDITION} ORDER BY seq`).all();
    assert.ok(plan.length > 0);
    assert.throws(() => db.prepare(`SELECT doc FROM commands INDEXED BY commands_unfinished WHERE status IN ('pending', 'sent') ORDER BY seq`), /no query solution/);
  } finally {
    db.close();
  }
});

// The unfinished commands' partial index was first made with `status IN (…)`: SQLite built that list
// into a temporary B-tree on every insert and on both sides of every update of a command. Its
// condition is now said without an IN list, and a migration makes the index again.
const IN_LIST = `status IN (${UNFINISHED_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/** How many temporary B-trees (SQLite's `OpenEphemeral`) a statement opens each time it runs. */
function ephemeralTables(db: Database.Database, sql: string): number {
  return (db.prepare(`EXPLAIN ${sql}`).all() as { opcode: string }[]).filter((op) => op.opcode === 'OpenEphemeral').length;
}

const INSERT = `INSERT INTO commands (document_id, seq, route, request_id, action, status, created_at, delivery_deadline, updated_at, doc)
  VALUES ('d', 9, 'agent:a1', 'r', 'x', 'pending', 1, 2, 1, '{}')`;
const UPDATE = `UPDATE commands SET status = 'sent', updated_at = 2 WHERE seq = 9`;

test('a store made with the IN-list index writes commands without a temporary B-tree after its migration, and still finds its unfinished ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-migration-'));
  try {
    const file = join(dir, 'courier.db');
    const before = databaseBefore(file, 'DROP INDEX commands_unfinished');
    // The index as databases made before the migration have it.
    before.exec(`DROP INDEX commands_unfinished; CREATE INDEX commands_unfinished ON commands(seq) WHERE ${IN_LIST};`);
    assert.equal(ephemeralTables(before, INSERT), 1, 'the old index builds its IN list on an insert');
    assert.equal(ephemeralTables(before, UPDATE), 2, 'and on both sides of an update');
    before
      .prepare(
        `INSERT INTO commands (document_id, seq, route, agent_id, request_id, action, target, status, created_at, delivery_deadline, attempts, updated_at, doc)
         VALUES ('old', 1, 'agent:a1', 'a1', 'r', 'x', 'agent:a1', 'sent', 1, 2, 1, 1, ?)`,
      )
      .run(JSON.stringify(commandDoc('old', 1)));
    before.close();

    const store = new SqliteStore({ file, synchronous: 'normal' });
    await store.open();
    await store.commit({ creates: [{ doc: commandDoc('new', 2), audit: createdRecord('new') }], changes: [] });
    assert.deepEqual(
      (await store.loadUnfinished()).map((c) => [c.doc.document_id, c.status]),
      [
        ['old', 'sent'],
        ['new', 'pending'],
      ],
    );
    await store.close();

    const after = new Database(file);
    try {
      assert.equal(after.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.equal(ephemeralTables(after, INSERT), 0);
      assert.equal(ephemeralTables(after, UPDATE), 0);
    } finally {
      after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
