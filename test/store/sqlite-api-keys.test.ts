import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { apiKeyStoreTests, keyAudit, keyRecord } from '../support/api-key-store-suite.js';
import { tempDir } from '../support/courier-harness.js';
import { databaseBefore } from '../support/sqlite-migrations.js';

describe('SQLite store: API keys', () => {
  let store: SqliteStore;
  before(async () => {
    store = new SqliteStore({ file: join(tempDir('courier-sqlite-keys-'), 'courier.db'), synchronous: 'normal' });
    await store.open();
  });
  after(() => store.close());
  apiKeyStoreTests(() => store.operators);
});

// The keys' expiry and last use came with a migration: keys made before it never expire, were never
// used, and take both from then on.
test('a store made before keys could expire keeps its keys, which take an expiry and a last use', async () => {
  const file = join(tempDir('courier-migration-'), 'courier.db');
  const before = databaseBefore(file, 'ADD COLUMN expires_at');
  before.prepare(`INSERT INTO api_keys (id, name, role, scopes, key_hash, created_at) VALUES ('00000000000000aa', 'old', 'admin', '[]', 'h', 5)`).run();
  before.close();

  const store = new SqliteStore({ file, synchronous: 'normal' });
  try {
    await store.open();
    const old = { id: '00000000000000aa', name: 'old', role: 'admin', scopes: [], keyHash: 'h', createdAt: 5, revokedAt: null, expiresAt: null, lastUsedAt: null };
    assert.deepEqual(await store.operators.getApiKey(old.id), old);
    await store.operators.touchApiKey(old.id, 10);
    assert.equal((await store.operators.getApiKey(old.id))!.lastUsedAt, 10);
    const fresh = keyRecord({ expiresAt: 99 });
    await store.operators.addApiKey(fresh, keyAudit(fresh, 'created', 6));
    assert.equal((await store.operators.getApiKey(fresh.id))!.expiresAt, 99);
  } finally {
    await store.close();
  }
});
