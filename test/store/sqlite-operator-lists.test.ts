import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { commandDoc } from '../support/command-documents.js';
import { operatorListStoreTests } from '../support/operator-list-store-suite.js';

describe('SQLite store: lists of requests and agents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-lists-'));
  let store: SqliteStore;
  before(async () => {
    store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
    await store.open();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  operatorListStoreTests(() => store);
});

describe('SQLite store: the request index', () => {
  test("carries each command's action and target, so a page of requests reads them from the index alone", () => {
    const db = new Database(':memory:');
    try {
      for (const migration of MIGRATIONS) db.exec(migration);
      const doc = commandDoc('c1', 1);
      db.prepare(
        `INSERT INTO commands (document_id, seq, route, agent_id, request_id, action, target, status, created_at, delivery_deadline, updated_at, doc)
         VALUES ('c1', 1, 'agent:a1', 'a1', 'r', 'x', 'agent:a1', 'pending', 0, 0, 0, ?)`,
      ).run(JSON.stringify(doc));
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN SELECT request_id, MIN(action), MAX(action), MIN(target), MAX(target) FROM commands WHERE request_id IN ('r', 's') GROUP BY request_id`)
        .all() as { detail: string }[];
      assert.ok(
        plan.some((step) => /USING (COVERING )?INDEX commands_request/.test(step.detail)),
        JSON.stringify(plan),
      );
    } finally {
      db.close();
    }
  });
});
