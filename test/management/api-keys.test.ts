// Operator keys managed over the management API on a real listener (the embedded store): an admin
// makes a key that expires, it works until then and records its last use, it is revoked; every
// creation and revocation is in the audit trail with the key that did it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, SkewedClock, startHarness, tempDir, type Harness } from '../support/courier-harness.js';

interface KeyView {
  id: string;
  name: string;
  status: string;
  expires_at: string | null;
  last_used_at: string | null;
}
interface KeyEntry {
  kind: string;
  key_id: string;
  cause: string;
  actor: string;
  detail: string;
}

describe('API keys over the management API', () => {
  const clock = new SkewedClock();
  let h: Harness;
  let root: string;
  before(async () => {
    h = await startHarness({}, tempDir(), { clock });
    root = await h.createKey('admin', [], 'root');
  });
  after(() => h.stop());

  const asRoot = (method: string, path: string, body?: unknown) => h.mgmt(method, path, { key: root, ...(body !== undefined ? { body } : {}) });
  const keyTrail = async (id: string) => ((await asRoot('GET', '/api/v1/audit?kind=key&limit=1000')).body as { items: KeyEntry[] }).items.filter((e) => e.key_id === id);

  test('made, used (its last use listed), revoked (then refused): each step audited with the acting key', async () => {
    const made = await asRoot('POST', '/api/v1/keys', { role: 'operator', name: 'alice', scopes: ['group:linux'], expires_in: 3600 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { id, key, expires_at, last_used_at } = made.body as KeyView & { key: string };
    assert.equal(last_used_at, null);
    assert.ok(Math.abs(Date.parse(expires_at!) - (clock.now() + 3_600_000)) < 60_000, expires_at!);

    const before = clock.now();
    assert.equal((await h.mgmt('GET', '/api/v1/commands', { key })).status, 200);
    const used = await eventually(async () => {
      const listed = ((await asRoot('GET', '/api/v1/keys')).body as { items: KeyView[] }).items.find((k) => k.id === id);
      return listed?.last_used_at ?? undefined;
    }, "alice's last use listed");
    assert.ok(Date.parse(used) >= before - 1 && Date.parse(used) <= clock.now(), used);

    const revoked = await asRoot('DELETE', `/api/v1/keys/${id}`);
    assert.deepEqual([revoked.status, revoked.body], [200, { id, revoked: true }]);
    const refused = await h.mgmt('GET', '/api/v1/commands', { key });
    assert.deepEqual([refused.status, (refused.body as { code: string }).code], [401, 'COURIER_ERR_INVALID_API_KEY']);

    const rootId = ((await asRoot('GET', '/api/v1/keys')).body as { items: KeyView[] }).items.find((k) => k.name === 'root')!.id;
    const trail = await keyTrail(id);
    assert.deepEqual(
      trail.map((e) => [e.kind, e.cause, e.actor]),
      [
        ['key', 'created', 'key:root'],
        ['key', 'revoked', 'key:root'],
      ],
    );
    assert.ok(
      trail.every((e) => e.detail.endsWith(`by key ${rootId}`)),
      JSON.stringify(trail),
    );
    assert.deepEqual(
      (await keyTrail(rootId)).map((e) => [e.cause, e.actor]),
      [['created', 'admin-socket']],
    );
  });

  test('a key that expires is refused from then on with its own code, and listed as expired', async () => {
    const made = (await asRoot('POST', '/api/v1/keys', { role: 'auditor', expires_in: 60 })).body as KeyView & { key: string };
    assert.equal((await h.mgmt('GET', '/api/v1/audit', { key: made.key })).status, 200);
    clock.advance(60_000);
    const refused = await h.mgmt('GET', '/api/v1/audit', { key: made.key });
    assert.deepEqual([refused.status, (refused.body as { code: string }).code], [401, 'COURIER_ERR_EXPIRED_API_KEY']);
    assert.equal(((await asRoot('GET', `/api/v1/keys/${made.id}`)).body as KeyView).status, 'expired');
  });
});
