import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { enrollmentTokenStoreTests, tokenRecord } from '../support/enrollment-token-store-suite.js';

describe('SQLite store: enrollment tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-enroll-'));
  let store: SqliteStore;
  before(async () => {
    store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
    await store.open();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  enrollmentTokenStoreTests(() => store);
});

// Migration 3 adds the tokens table and the agents' name: a data directory made before it keeps its
// agents (without a name), and tokens work on it.
test('a store made at schema version 2 keeps its agents, and gets enrollment tokens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-migration-'));
  try {
    const file = join(dir, 'courier.db');
    const v2 = new Database(file);
    v2.exec(MIGRATIONS[0]!);
    v2.exec(MIGRATIONS[1]!);
    v2.pragma('user_version = 2');
    v2.prepare(`INSERT INTO agents (id, key_hash, groups, created_at) VALUES ('old-1', 'h', '["linux"]', 5)`).run();
    v2.prepare(`INSERT INTO agent_groups (group_name, agent_id) VALUES ('linux', 'old-1')`).run();
    v2.close();

    const store = new SqliteStore({ file, synchronous: 'normal' });
    try {
      assert.deepEqual(await store.getAgent('old-1'), { id: 'old-1', keyHash: 'h', groups: ['linux'], createdAt: 5 });
      const token = tokenRecord({ maxUses: 1 });
      await store.enrollmentTokens.addEnrollmentToken(token);
      assert.equal(await store.enrollmentTokens.redeemEnrollmentToken(token.id, { id: 'new-1', keyHash: 'k', groups: ['linux'], createdAt: 6, name: 'n' }, 6), 'enrolled');
      assert.deepEqual(
        (await store.agentsInGroup('linux')).map((a) => a.id),
        ['new-1', 'old-1'],
      );
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
