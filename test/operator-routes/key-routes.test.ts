/**
 * The key routes, as mounted on the management API (an admin key; a scoped admin reaches only keys
 * within its scope; the last admin key without a scope stays) and on the admin socket (trusted),
 * through fastify's inject on the embedded store, with a clock the tests move: expiry, last use
 * written at most once a minute, bad input changing nothing, every creation and revocation audited.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pino from 'pino';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { errors } from '../../src/errors.js';
import { createHttpApp, type HttpApp } from '../../src/http/app.js';
import { AuthenticationGuard } from '../../src/http/authentication-guard.js';
import { Access } from '../../src/management/access.js';
import { scopedKeyPolicy } from '../../src/management/key-policy.js';
import { Metrics } from '../../src/metrics.js';
import { registerKeyRoutes } from '../../src/operator-routes/key-routes.js';
import type { AuditEntry, OperatorStore } from '../../src/store/operator-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/courier-harness.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const logger = pino({ level: 'silent' });

interface Answer {
  status: number;
  body: any;
}

describe('key routes', () => {
  let store: SqliteStore;
  let operators: OperatorStore;
  let mgmt: HttpApp;
  let socket: HttpApp;
  let keys: ApiKeys;
  let access: Access;
  let guard: AuthenticationGuard;
  const clock = { ms: T0 };
  /** The times of the last-use writes, in order. */
  const touches: { id: string; at: number }[] = [];
  let root: { id: string; key: string };

  before(async () => {
    store = new SqliteStore({ file: join(tempDir('courier-key-routes-'), 'courier.db'), synchronous: 'normal' });
    await store.open();
    const real = store.operators;
    operators = new Proxy(real, {
      get(target, property) {
        if (property === 'touchApiKey')
          return (id: string, at: number) => {
            touches.push({ id, at });
            return target.touchApiKey(id, at);
          };
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const now = () => clock.ms;
    keys = new ApiKeys(operators, { now, node: 'node-t', logger });
    const metrics = new Metrics({
      countByStatus: () => Promise.reject(new Error('not collected in this test')),
      stats: () => ({ liveCommands: 0, longPollSubscriptions: 0, webSocketSubscriptions: 0, longPollAnswersAwaitingAck: 0 }),
    });
    guard = new AuthenticationGuard({ api: 'management', failuresPerMinute: 100_000, failure: errors.INVALID_API_KEY, logger, metrics, now });
    access = new Access({ keys, guard, store: operators, node: 'node-t', now, logger });
    const options = { logger, bodyLimit: 1024 * 1024, requestTimeoutMs: 10_000 };
    mgmt = await createHttpApp({ ...options, openapi: { title: 'management', description: '', keyed: true } });
    mgmt.addHook('onRequest', access.check);
    registerKeyRoutes(mgmt, keys, { policy: scopedKeyPolicy(access, keys) });
    socket = await createHttpApp({ ...options, openapi: { title: 'socket', description: '' } });
    registerKeyRoutes(socket, keys);
    await Promise.all([mgmt.ready(), socket.ready()]);
    root = (await call(socket, 'POST', '/api/v1/keys', { role: 'admin', name: 'root' })).body;
  });
  after(async () => {
    guard.close();
    await access.close();
    await Promise.all([mgmt.close(), socket.close()]);
    await keys.settled();
    await store.close();
  });
  beforeEach(() => {
    clock.ms += 3_600_000;
  });

  async function call(app: HttpApp, method: string, url: string, body?: unknown, key?: string, rawBody?: string): Promise<Answer> {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(rawBody !== undefined ? { payload: rawBody } : body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
  }
  const asAdmin = (method: string, url: string, body?: unknown) => call(mgmt, method, url, body, root.key);
  const created = async (body: object, key = root.key) => {
    const res = await call(mgmt, 'POST', '/api/v1/keys', body, key);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; key: string; status: string; expires_at: string | null; last_used_at: string | null };
  };
  const keyTrail = async () => (await operators.queryAudit({ kind: 'key' }, { limit: 1000 })).items as Extract<AuditEntry, { kind: 'key' }>[];
  const refusals = async () => (await operators.queryAudit({ kind: 'refusal' }, { limit: 1000 })).items as Extract<AuditEntry, { kind: 'refusal' }>[];

  test('an admin makes, lists, reads and revokes a key over the management API, each audited with the key that did it', async () => {
    const made = await created({ role: 'operator', name: 'alice', scopes: ['group:web', 'action:restart'], expires_in: 3600 });
    assert.equal(made.status, 'active');
    assert.equal(made.expires_at, new Date(clock.ms + 3_600_000).toISOString());
    assert.match(made.key, new RegExp(`^courier_${made.id}_`));
    const listed = (await asAdmin('GET', '/api/v1/keys')).body.items as { id: string }[];
    assert.deepEqual(
      listed.find((k) => k.id === made.id),
      omitKey(made),
    );
    assert.deepEqual((await asAdmin('GET', `/api/v1/keys/${made.id}`)).body, omitKey(made));

    const revoked = await asAdmin('DELETE', `/api/v1/keys/${made.id}`);
    assert.deepEqual([revoked.status, revoked.body], [200, { id: made.id, revoked: true }]);
    assert.equal((await asAdmin('GET', `/api/v1/keys/${made.id}`)).body.status, 'revoked');
    const again = await asAdmin('DELETE', `/api/v1/keys/${made.id}`);
    assert.deepEqual([again.status, again.body.code], [404, 'COURIER_ERR_API_KEY_NOT_FOUND']);

    const trail = (await keyTrail()).filter((e) => e.key_id === made.id);
    assert.deepEqual(
      trail.map((e) => [e.cause, e.actor, e.node]),
      [
        ['created', 'key:root', 'node-t'],
        ['revoked', 'key:root', 'node-t'],
      ],
    );
    assert.match(trail[0]!.detail, new RegExp(`^operator key alice, scopes group:web action:restart, expires .*; by key ${root.id}$`));
  });

  test('the admin socket makes and revokes keys too (audited as admin-socket), also the last admin key without a scope', async () => {
    const made = (await call(socket, 'POST', '/api/v1/keys', { role: 'auditor', expires_at: new Date(clock.ms + 60_000).toISOString() })).body;
    assert.equal(made.expires_at, new Date(clock.ms + 60_000).toISOString());
    assert.equal((await call(socket, 'DELETE', `/api/v1/keys/${made.id}`)).status, 200);
    assert.deepEqual(
      (await keyTrail()).filter((e) => e.key_id === made.id).map((e) => [e.cause, e.actor]),
      [
        ['created', 'admin-socket'],
        ['revoked', 'admin-socket'],
      ],
    );
  });

  test('operator and auditor keys are refused every key route (403), each refusal audited, nothing made', async () => {
    const stored = (await operators.listApiKeys()).length;
    for (const role of ['operator', 'auditor']) {
      const { key, id } = await created({ role });
      for (const [method, url, body] of [
        ['POST', '/api/v1/keys', { role: 'admin' }],
        ['GET', '/api/v1/keys', undefined],
        ['GET', `/api/v1/keys/${root.id}`, undefined],
        ['DELETE', `/api/v1/keys/${root.id}`, undefined],
      ] as const) {
        const before = (await refusals()).length;
        const res = await call(mgmt, method, url, body, key);
        assert.deepEqual([res.status, res.body.code], [403, 'COURIER_ERR_FORBIDDEN'], `${role} ${method} ${url}`);
        const refusal = (await refusals()).slice(before);
        assert.equal(refusal.length, 1);
        assert.equal(refusal[0]!.actor, `key:${role}-${id.slice(0, 6)}`);
        assert.match(refusal[0]!.detail, /keys:admin/);
      }
    }
    assert.equal((await operators.listApiKeys()).length, stored + 2, 'only the two keys made for the test');
    assert.equal((await asAdmin('GET', `/api/v1/keys/${root.id}`)).body.status, 'active');
  });

  test('an expired key is refused with its own code, to its holder only; it is listed as expired', async () => {
    const { key, id } = await created({ role: 'admin', expires_in: 60 });
    assert.equal((await call(mgmt, 'GET', '/api/v1/keys', undefined, key)).status, 200);
    clock.ms += 59_999;
    assert.equal((await call(mgmt, 'GET', '/api/v1/keys', undefined, key)).status, 200, 'still valid a moment before');
    clock.ms += 1;
    const expired = await call(mgmt, 'GET', '/api/v1/keys', undefined, key);
    assert.deepEqual([expired.status, expired.body.code], [401, 'COURIER_ERR_EXPIRED_API_KEY']);
    // Without its secret, the same key id is an invalid key, as an unknown id is.
    const forged = `courier_${id}_${'A'.repeat(43)}`;
    const unknown = `courier_${'0'.repeat(16)}_${'A'.repeat(43)}`;
    for (const presented of [forged, unknown]) {
      const res = await call(mgmt, 'GET', '/api/v1/keys', undefined, presented);
      assert.deepEqual([res.status, res.body], [401, { code: 'COURIER_ERR_INVALID_API_KEY', message: 'Invalid or revoked API key' }]);
    }
    assert.equal((await asAdmin('GET', `/api/v1/keys/${id}`)).body.status, 'expired');
  });

  test("a key's last use is written at its first use, then at most once a minute, and listed", async () => {
    const { key, id } = await created({ role: 'admin', scopes: ['group:web'] });
    const writes = () => touches.filter((t) => t.id === id).map((t) => t.at);
    const use = async () => assert.equal((await call(mgmt, 'GET', '/api/v1/keys', undefined, key)).status, 200);
    const first = clock.ms;
    await use();
    clock.ms += 30_000;
    await use();
    await use();
    clock.ms += 29_999;
    await use();
    await keys.settled();
    assert.deepEqual(writes(), [first], 'one write for four uses within a minute');
    assert.equal((await asAdmin('GET', `/api/v1/keys/${id}`)).body.last_used_at, new Date(first).toISOString());
    clock.ms += 1;
    await use();
    await keys.settled();
    assert.deepEqual(writes(), [first, first + 60_000]);
    assert.equal((await asAdmin('GET', `/api/v1/keys/${id}`)).body.last_used_at, new Date(first + 60_000).toISOString());
  });

  describe('bad input: 400 with a clear message, nothing stored, nothing audited', () => {
    const cases: [string, { body?: unknown; raw?: string }, RegExp, string][] = [
      ['malformed JSON', { raw: '{"role": "admin",' }, /JSON/, 'COURIER_ERR_MALFORMED_JSON'],
      ['a role not a string', { body: { role: 5 } }, /role/, 'COURIER_ERR_VALIDATION'],
      ['an unknown role', { body: { role: 'root' } }, /role/, 'COURIER_ERR_VALIDATION'],
      ['scopes not a list', { body: { role: 'admin', scopes: 'group:web' } }, /scopes/, 'COURIER_ERR_VALIDATION'],
      ['a bad scope', { body: { role: 'admin', scopes: ['galaxy:far'] } }, /Invalid scope/, 'COURIER_ERR_VALIDATION'],
      ['expires_in as text', { body: { role: 'admin', expires_in: '60' } }, /expires_in/, 'COURIER_ERR_VALIDATION'],
      ['expires_in zero', { body: { role: 'admin', expires_in: 0 } }, /expires_in/, 'COURIER_ERR_VALIDATION'],
      ['expires_in fractional', { body: { role: 'admin', expires_in: 1.5 } }, /expires_in/, 'COURIER_ERR_VALIDATION'],
      ['expires_at not a time', { body: { role: 'admin', expires_at: 'tomorrow' } }, /expires_at/, 'COURIER_ERR_VALIDATION'],
      ['expires_at in the past', { body: { role: 'admin', expires_at: '2020-01-01T00:00:00Z' } }, /expires_at must be in the future/, 'COURIER_ERR_VALIDATION'],
      ['both expiry fields', { body: { role: 'admin', expires_at: '2099-01-01T00:00:00Z', expires_in: 60 } }, /expires_at or expires_in, not both/, 'COURIER_ERR_VALIDATION'],
      ['an unknown field', { body: { role: 'admin', expires: '1h' } }, /expires/, 'COURIER_ERR_VALIDATION'],
    ];
    for (const [what, input, message, code] of cases) {
      test(what, async () => {
        const keysBefore = (await operators.listApiKeys()).length;
        const trailBefore = (await operators.queryAudit({}, { limit: 10_000 })).items.length;
        for (const [app, key] of [
          [mgmt, root.key],
          [socket, undefined],
        ] as const) {
          const res = await call(app, 'POST', '/api/v1/keys', input.body, key, input.raw);
          assert.equal(res.status, 400, JSON.stringify(res.body));
          assert.equal(res.body.code, code);
          assert.match(res.body.message, message);
        }
        assert.equal((await operators.listApiKeys()).length, keysBefore);
        assert.equal((await operators.queryAudit({}, { limit: 10_000 })).items.length, trailBefore);
      });
    }
  });

  test('an admin key with a scope makes, sees and revokes only keys within its scope; refusals audited', async () => {
    const web = await created({ role: 'admin', name: 'web-admin', scopes: ['group:web', 'agent:web-*', 'action:restart'] });
    const inside = await created({ role: 'operator', scopes: ['group:web', 'agent:web-1', 'action:restart'] }, web.key);
    for (const scopes of [[], ['group:db', 'action:restart'], ['group:web'], ['agent:web-1', 'action:restart', 'action:stop'], ['agent:db-1', 'action:restart']]) {
      const before = (await refusals()).length;
      const res = await call(mgmt, 'POST', '/api/v1/keys', { role: 'operator', scopes }, web.key);
      assert.deepEqual([res.status, res.body.code], [403, 'COURIER_ERR_OUT_OF_SCOPE'], scopes.join(' '));
      const [refusal] = (await refusals()).slice(before);
      assert.equal(refusal?.actor, 'key:web-admin');
    }
    const outside = await created({ role: 'operator', scopes: ['group:db'] });
    const seen = ((await call(mgmt, 'GET', '/api/v1/keys', undefined, web.key)).body.items as { id: string }[]).map((k) => k.id);
    assert.ok(seen.includes(inside.id) && seen.includes(web.id));
    assert.ok(!seen.includes(outside.id) && !seen.includes(root.id));
    assert.equal((await call(mgmt, 'GET', `/api/v1/keys/${outside.id}`, undefined, web.key)).status, 404);
    for (const id of [outside.id, root.id, 'ffffffffffffffff']) {
      const res = await call(mgmt, 'DELETE', `/api/v1/keys/${id}`, undefined, web.key);
      assert.deepEqual([res.status, res.body.code], [403, 'COURIER_ERR_OUT_OF_SCOPE'], `${id}: an unknown key answers as one outside the scope`);
    }
    assert.equal((await asAdmin('GET', `/api/v1/keys/${outside.id}`)).body.status, 'active');
    assert.equal((await call(mgmt, 'DELETE', `/api/v1/keys/${inside.id}`, undefined, web.key)).status, 200);
  });

  test('the last active admin key without a scope cannot be revoked over the API (409, audited); a key may revoke itself otherwise', async () => {
    // Every other full admin key made by earlier tests is revoked first: root is the last one.
    for (const key of await keys.list()) {
      if (key.id !== root.id && key.role === 'admin' && key.scopes.length === 0 && key.status === 'active') await call(socket, 'DELETE', `/api/v1/keys/${key.id}`);
    }
    const before = (await refusals()).length;
    const last = await asAdmin('DELETE', `/api/v1/keys/${root.id}`);
    assert.deepEqual([last.status, last.body.code], [409, 'COURIER_ERR_LAST_ADMIN_KEY']);
    assert.match((await refusals()).slice(before)[0]!.detail, /COURIER_ERR_LAST_ADMIN_KEY/);
    // A scoped admin key or an expiring one that has expired does not count as another.
    await created({ role: 'admin', scopes: ['group:web'] });
    await created({ role: 'admin', expires_in: 1 });
    clock.ms += 1000;
    assert.equal((await asAdmin('DELETE', `/api/v1/keys/${root.id}`)).status, 409);

    const second = await created({ role: 'admin', name: 'second' });
    const self = await asAdmin('DELETE', `/api/v1/keys/${root.id}`);
    assert.deepEqual([self.status, self.body], [200, { id: root.id, revoked: true }]);
    assert.equal((await asAdmin('GET', '/api/v1/keys')).body.code, 'COURIER_ERR_INVALID_API_KEY');
    assert.equal((await call(mgmt, 'DELETE', `/api/v1/keys/${second.id}`, undefined, second.key)).status, 409, 'now the last one itself');
    assert.equal((await call(socket, 'DELETE', `/api/v1/keys/${second.id}`)).status, 200, 'the admin socket may');
  });
});

function omitKey<T extends { key: string }>(made: T): Omit<T, 'key'> {
  const { key: _key, ...rest } = made;
  return rest;
}
