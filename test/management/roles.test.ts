import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * Every role against every route of the management API: each request is either allowed (not a
 * 401/403) or refused with 403 COURIER_ERR_FORBIDDEN, and every refusal lands in the audit trail.
 */
type Role = 'admin' | 'operator' | 'auditor';

interface RouteCase {
  name: string;
  method: string;
  path: (ids: Fixture) => string;
  body?: (ids: Fixture) => unknown;
  allowed: Role[];
}

interface Fixture {
  documentId: string;
  requestId: string;
  /** An enrollment token not yet revoked. */
  tokenId: string;
  /** An operator key not yet revoked. */
  keyId: string;
}

const ALL: Role[] = ['admin', 'operator', 'auditor'];
const ROUTES: RouteCase[] = [
  { name: 'list commands', method: 'GET', path: () => '/api/v1/commands', allowed: ALL },
  { name: 'read a command', method: 'GET', path: (f) => `/api/v1/commands/${f.documentId}`, allowed: ALL },
  { name: 'read its history', method: 'GET', path: (f) => `/api/v1/commands/${f.documentId}/history`, allowed: ALL },
  { name: 'read a request summary', method: 'GET', path: (f) => `/api/v1/requests/${f.requestId}`, allowed: ALL },
  { name: 'read the audit trail', method: 'GET', path: () => '/api/v1/audit', allowed: ALL },
  { name: 'list agents', method: 'GET', path: () => '/api/v1/agents', allowed: ALL },
  {
    name: 'send a command',
    method: 'POST',
    path: () => '/api/v1/commands',
    body: () => ({ commands: [command({ type: 'agent', id: 'role-agent' })] }),
    allowed: ['admin', 'operator'],
  },
  { name: 'cancel a command', method: 'POST', path: (f) => `/api/v1/commands/${f.documentId}/cancel`, allowed: ['admin', 'operator'] },
  { name: 'restart shortcut', method: 'PUT', path: () => '/api/v1/agents/role-agent/restart', allowed: ['admin', 'operator'] },
  { name: 'restart list shortcut', method: 'PUT', path: () => '/api/v1/agents/restart?agents_list=role-agent', allowed: ['admin', 'operator'] },
  { name: 'set-group shortcut', method: 'PUT', path: () => '/api/v1/agents/group?agents_list=role-agent&group_id=linux', allowed: ['admin', 'operator'] },
  { name: 'register an agent', method: 'POST', path: () => '/api/v1/agents', body: () => ({ id: `new-${Math.random().toString(36).slice(2)}` }), allowed: ['admin'] },
  { name: 'remove an agent', method: 'DELETE', path: () => '/api/v1/agents/doomed-agent', allowed: ['admin'] },
  { name: 'create an enrollment token', method: 'POST', path: () => '/api/v1/enrollment-tokens', body: () => ({ groups: ['linux'], max_uses: 1 }), allowed: ['admin'] },
  { name: 'list enrollment tokens', method: 'GET', path: () => '/api/v1/enrollment-tokens', allowed: ['admin'] },
  { name: 'revoke an enrollment token', method: 'DELETE', path: (f) => `/api/v1/enrollment-tokens/${f.tokenId}`, allowed: ['admin'] },
  { name: 'create an API key', method: 'POST', path: () => '/api/v1/keys', body: () => ({ role: 'auditor', expires_in: 3600 }), allowed: ['admin'] },
  { name: 'list API keys', method: 'GET', path: () => '/api/v1/keys', allowed: ['admin'] },
  { name: 'read an API key', method: 'GET', path: (f) => `/api/v1/keys/${f.keyId}`, allowed: ['admin'] },
  { name: 'revoke an API key', method: 'DELETE', path: (f) => `/api/v1/keys/${f.keyId}`, allowed: ['admin'] },
];

describe('management API: roles', () => {
  let h: Harness;
  const keys = {} as Record<Role, string>;
  before(async () => {
    // Every route with several bad keys, from one address: far past the throttle of failed authentications (test/http/auth-throttle.test.ts).
    h = await startHarness({ authFailuresPerMinute: '100000' });
    await h.addAgent('role-agent', ['linux']);
    for (const role of ALL) keys[role] = await h.createKey(role, [], `${role}-key`);
  });
  after(() => h.stop());

  const fixture = async (): Promise<Fixture> => {
    const [created] = await h.send([command({ type: 'agent', id: 'role-agent' })]);
    const state = (await h.admin('GET', `/api/v1/commands/${created!.document_id}`)).body as { request_id: string };
    const token = (await h.admin('POST', '/api/v1/enrollment-tokens', { groups: ['linux'] })).body as { id: string };
    const key = (await h.admin('POST', '/api/v1/keys', { role: 'operator' })).body as { id: string };
    return { documentId: created!.document_id, requestId: state.request_id, tokenId: token.id, keyId: key.id };
  };

  for (const route of ROUTES) {
    for (const role of ALL) {
      const allowed = route.allowed.includes(role);
      test(`${role} ${allowed ? 'may' : 'may not'} ${route.name}`, async () => {
        await h.addAgent('doomed-agent').catch(() => {});
        const f = await fixture();
        const res = await h.mgmt(route.method, route.path(f), { key: keys[role], ...(route.body ? { body: route.body(f) } : {}) });
        if (allowed) {
          assert.ok(res.status < 400, `${role} ${route.method} ${route.path(f)}: ${res.status} ${JSON.stringify(res.body)}`);
          return;
        }
        assert.equal(res.status, 403);
        assert.equal((res.body as { code: string }).code, 'COURIER_ERR_FORBIDDEN');
        const audit = await h.mgmt('GET', `/api/v1/audit?kind=refusal&actor=key:${role}-key`, { key: keys.admin });
        const refusals = (audit.body as { items: { detail: string }[] }).items;
        assert.ok(
          refusals.some((r) => r.detail.startsWith(`${route.method} ${route.path(f).split('?')[0]}`)),
          `refusal of ${route.name} not audited: ${JSON.stringify(refusals)}`,
        );
      });
    }
  }

  test('no route works without a key, or with a revoked or malformed one; refusals are audited (once a minute per address, route and reason)', async () => {
    const f = await fixture();
    const revokedKey = await h.createKey('admin', [], 'revoked-key');
    const list = (await h.admin('GET', '/api/v1/keys')).body as { items: { id: string; name: string }[] };
    const revokedId = list.items.find((k) => k.name === 'revoked-key')!.id;
    assert.equal((await h.admin('DELETE', `/api/v1/keys/${revokedId}`)).status, 200);
    for (const route of ROUTES) {
      for (const key of [undefined, 'courier_0000000000000000_not-a-real-secret-not-a-real-secret-000000', revokedKey, 'garbage']) {
        const res = await h.mgmt(route.method, route.path(f), { ...(key ? { key } : {}), ...(route.body ? { body: route.body(f) } : {}) });
        assert.equal(res.status, 401, `${route.method} ${route.path(f)} with ${key ?? 'no key'}`);
        assert.match((res.body as { code: string }).code, /^COURIER_ERR_(MISSING|INVALID)_API_KEY$/);
      }
    }
    // Per route: one record for the missing key, one for the three bad keys (the same reason); the rest are counted.
    const audit = await h.mgmt('GET', '/api/v1/audit?kind=refusal&actor=anonymous&limit=1000', { key: keys.admin });
    const details = (audit.body as { items: { detail: string }[] }).items.map((i) => i.detail);
    for (const route of ROUTES) {
      const prefix = `${route.method} ${route.path(f).split('?')[0]}:`;
      for (const code of ['COURIER_ERR_MISSING_API_KEY', 'COURIER_ERR_INVALID_API_KEY']) {
        assert.ok(
          details.some((d) => d.startsWith(prefix) && d.includes(code)),
          `${prefix} ${code} not audited`,
        );
      }
    }
  });

  test('a key is shown once: listing keys never returns secrets or hashes', async () => {
    const list = (await h.admin('GET', '/api/v1/keys')).body as { items: Record<string, unknown>[] };
    for (const item of list.items) {
      assert.deepEqual(Object.keys(item).sort(), ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'revoked_at', 'role', 'scopes', 'status']);
    }
  });

  test('the key is recorded as command.user and as the actor of the audit trail', async () => {
    const res = await h.mgmt('POST', '/api/v1/commands', { key: keys.operator, body: { commands: [command({ type: 'agent', id: 'role-agent' })] } });
    assert.equal(res.status, 201);
    const [created] = (res.body as { commands: { document_id: string; user: string }[] }).commands;
    assert.equal(created!.user, 'operator-key');
    const history = await h.mgmt('GET', `/api/v1/commands/${created!.document_id}/history`, { key: keys.auditor });
    assert.equal((history.body as { events: { actor: string }[] }).events[0]!.actor, 'key:operator-key');
  });
});
