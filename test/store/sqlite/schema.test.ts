import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { UNFINISHED_STATUSES } from '../../../src/domain/command.js';
import { MIGRATIONS, UNFINISHED_CONDITION } from '../../../src/store/sqlite/schema.js';

test('the unfinished condition names the domain statuses, and a query saying it can use the partial index', () => {
  assert.equal(UNFINISHED_CONDITION, `status IN (${UNFINISHED_STATUSES.map((s) => `'${s}'`).join(', ')})`);
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
