/**
 * Store-level tests of operator API keys, run against each adapter (the embedded SQLite store and
 * OpenSearch): add, read, list, revoke once, each with its audit record (kind key); expiry and last
 * use stored; a last use never moved back, also when nodes write it and a revocation at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiKeyRecord, AuditEntry, KeyAuditRecord, OperatorStore } from '../../src/store/operator-store.js';

const T0 = 1_800_000_000_000;
let n = 0;

export function keyRecord(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  n++;
  return {
    id: `${'a'.repeat(12)}${n.toString(16).padStart(4, '0')}`,
    name: `key-${n}`,
    role: 'operator',
    scopes: ['group:web'],
    keyHash: `hash-${n}`,
    createdAt: T0 + n,
    revokedAt: null,
    expiresAt: null,
    lastUsedAt: null,
    ...overrides,
  };
}

export function keyAudit(key: ApiKeyRecord, cause: KeyAuditRecord['cause'], at: number): KeyAuditRecord {
  return { key_id: key.id, cause, at, node: 'node-k', actor: 'key:root', detail: `${key.role} key ${key.name}; by key ffffffffffffffff` };
}

/** Registers the suite's tests; `operators()` gives the (open) store under test, shared by the tests. */
export function apiKeyStoreTests(operators: () => OperatorStore): void {
  const trailOf = async (id: string): Promise<AuditEntry[]> =>
    (await operators().queryAudit({ kind: 'key' }, { limit: 1000 })).items.filter((e) => e.kind === 'key' && e.key_id === id);

  test('keys: add with its audit record, read, list (oldest first), revoke once with its record', async () => {
    const a = keyRecord({ expiresAt: T0 + 3_600_000 });
    const b = keyRecord({ role: 'admin', scopes: [] });
    await operators().addApiKey(a, keyAudit(a, 'created', T0 + 10));
    await operators().addApiKey(b, keyAudit(b, 'created', T0 + 11));
    assert.deepEqual(await operators().getApiKey(a.id), a);
    assert.equal(await operators().getApiKey('ffffffffffffffff'), null);
    assert.deepEqual(
      (await operators().listApiKeys()).filter((k) => k.id === a.id || k.id === b.id),
      [a, b],
    );

    assert.equal(await operators().revokeApiKey(a.id, T0 + 20, keyAudit(a, 'revoked', T0 + 20)), true);
    assert.equal(await operators().revokeApiKey(a.id, T0 + 21, keyAudit(a, 'revoked', T0 + 21)), false, 'revoked once');
    assert.equal(await operators().revokeApiKey('ffffffffffffffff', T0 + 21, keyAudit(keyRecord({ id: 'ffffffffffffffff' }), 'revoked', T0 + 21)), false);
    assert.equal((await operators().getApiKey(a.id))!.revokedAt, T0 + 20);

    const trail = await trailOf(a.id);
    assert.deepEqual(
      trail.map(({ id: _id, ...entry }) => entry),
      [
        { kind: 'key', document_id: null, ...keyAudit(a, 'created', T0 + 10) },
        { kind: 'key', document_id: null, ...keyAudit(a, 'revoked', T0 + 20) },
      ],
      'one record for the creation, one for the revocation, none for the refused ones',
    );
    assert.deepEqual(await trailOf('ffffffffffffffff'), []);
  });

  test("keys: a last use is stored, never moved back; an unknown key's is ignored", async () => {
    const key = keyRecord();
    await operators().addApiKey(key, keyAudit(key, 'created', T0));
    await operators().touchApiKey(key.id, T0 + 500);
    assert.equal((await operators().getApiKey(key.id))!.lastUsedAt, T0 + 500);
    await operators().touchApiKey(key.id, T0 + 400);
    assert.equal((await operators().getApiKey(key.id))!.lastUsedAt, T0 + 500, 'an older use (another node, late) does not move it back');
    await operators().touchApiKey(key.id, T0 + 900);
    assert.equal((await operators().getApiKey(key.id))!.lastUsedAt, T0 + 900);
    await operators().touchApiKey('ffffffffffffffff', T0 + 900);
    assert.equal(await operators().getApiKey('ffffffffffffffff'), null, 'touching an unknown key makes none');
  });

  test('keys: last uses written at once (as by several nodes) and a revocation: all hold, the latest use wins', async () => {
    const key = keyRecord();
    await operators().addApiKey(key, keyAudit(key, 'created', T0));
    const touches = Array.from({ length: 20 }, (_, i) => operators().touchApiKey(key.id, T0 + 1000 + i));
    const revoked = operators().revokeApiKey(key.id, T0 + 2000, keyAudit(key, 'revoked', T0 + 2000));
    await Promise.all(touches);
    assert.equal(await revoked, true);
    const stored = (await operators().getApiKey(key.id))!;
    assert.equal(stored.lastUsedAt, T0 + 1019);
    assert.equal(stored.revokedAt, T0 + 2000);
  });
}
