import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonResponse } from '../../src/http-client.js';
import { command, eventually, SkewedClock, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import type { EnrollmentTokenView } from '../../src/auth/enrollment-tokens.js';

/**
 * Agent enrollment: an admin makes a token (admin socket or management API), a host presents it on
 * the agents API and is registered in the token's groups with a fresh key, then authenticates and
 * gets its commands as any agent. Expired, exhausted, revoked and unknown tokens are refused with
 * nothing registered and no use counted; an id that exists is not taken over.
 */

/** A token as the API shows it; `token` (the secret) only in the answer that created it. */
type TokenView = EnrollmentTokenView & { token?: string };

const TOKEN_FIELDS = ['created_at', 'created_by', 'expires_at', 'groups', 'id', 'max_uses', 'revoked', 'revoked_at', 'status', 'uses'];

function created(res: JsonResponse): TokenView & { token: string } {
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as TokenView & { token: string };
}

function assertRefused(res: JsonResponse, message: RegExp): void {
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body as object).sort(), ['code', 'message']);
  assert.equal((res.body as { code: string }).code, 'COURIER_ERR_INVALID_ENROLLMENT_TOKEN');
  assert.match((res.body as { message: string }).message, message);
}

/** Tokens and agents against one node. */
function helpers(h: () => Harness) {
  return {
    createToken: async (body: object) => created(await h().admin('POST', '/api/v1/enrollment-tokens', body)),
    enroll: (body: object) => h().http('POST', '/api/v1/enroll', { body }),
    token: async (id: string) => {
      const res = await h().admin('GET', '/api/v1/enrollment-tokens');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as { tokens: TokenView[] }).tokens.find((t) => t.id === id)!;
    },
    agentStatus: async (id: string) => (await h().admin('GET', `/api/v1/agents/${id}`)).status,
    login: (id: string, key: string) => h().http('POST', '/api/v1/authentication', { body: { uuid: id, key } }),
  };
}

describe('agent enrollment', () => {
  let h: Harness;
  const { createToken, enroll, token, agentStatus, login } = helpers(() => h);
  before(async () => {
    h = await startHarness({ longPollTimeout: '30s' });
  });
  after(() => h.stop());

  test('create a token, enroll with it, authenticate, receive a command and report it: end to end', async () => {
    const made = await createToken({ groups: ['linux', 'web'], expires_in: '24h', max_uses: 500 });
    assert.match(made.token, /^courier-enroll_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(made.status, 'active');
    assert.equal(made.uses, 0);
    assert.equal(made.max_uses, 500);
    assert.equal(made.created_by, 'admin-socket');
    assert.equal(Date.parse(made.expires_at!) - Date.parse(made.created_at), 24 * 3_600_000);

    const res = await enroll({ token: made.token, id: 'enrolled-1', name: 'web-host-1' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { id, key, groups } = res.body as { id: string; key: string; groups: string[] };
    assert.equal(id, 'enrolled-1');
    assert.deepEqual(groups, ['linux', 'web']);
    const agent = (await h.admin('GET', '/api/v1/agents/enrolled-1')).body as { name: string; groups: string[] };
    assert.deepEqual(agent.groups, ['linux', 'web']);
    assert.equal(agent.name, 'web-host-1');
    assert.equal((await token(made.id)).uses, 1);

    const auth = await login(id, key);
    assert.equal(auth.status, 200, JSON.stringify(auth.body));
    const bearer = (auth.body as { token: string }).token;
    // A group command reaches it: it is a member of the token's groups.
    const [sent] = await h.send([command({ type: 'group', id: 'web' })]);
    const poll = await h.http('GET', '/api/v1/commands', { token: bearer });
    assert.equal(poll.status, 200, JSON.stringify(poll.body));
    assert.deepEqual(
      (poll.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [sent!.document_id],
    );
    const report = await h.http('POST', '/api/v1/commands/results', { token: bearer, body: { results: [{ document_id: sent!.document_id, code: 0, message: 'done' }] } });
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.equal(((await h.admin('GET', `/api/v1/commands/${sent!.document_id}`)).body as { status: string }).status, 'success');
  });

  test('without an id, the agent gets a new UUID; the token default: 24 h, no use limit', async () => {
    const made = await createToken({ groups: ['linux'] });
    assert.equal(made.max_uses, null);
    assert.equal(Date.parse(made.expires_at!) - Date.parse(made.created_at), 24 * 3_600_000);
    const res = await enroll({ token: made.token });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { id, key } = res.body as { id: string; key: string };
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal((await login(id, key)).status, 200);
    assert.equal(((await h.admin('GET', `/api/v1/agents/${id}`)).body as { name: string | null }).name, null);
  });

  test('a max_uses 1 token enrolls once: the second enrollment is refused, nothing registered, the count stays 1', async () => {
    const made = await createToken({ groups: ['linux'], max_uses: 1 });
    assert.equal((await enroll({ token: made.token, id: 'once-1' })).status, 201);
    assertRefused(await enroll({ token: made.token, id: 'once-2' }), /exhausted/);
    assert.equal(await agentStatus('once-2'), 404);
    const after = await token(made.id);
    assert.equal(after.uses, 1);
    assert.equal(after.status, 'exhausted');
  });

  test('two enrollments at once with a max_uses 1 token: exactly one wins', async () => {
    const made = await createToken({ groups: ['linux'], max_uses: 1 });
    const answers = await Promise.all([enroll({ token: made.token, id: 'race-1' }), enroll({ token: made.token, id: 'race-2' })]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 401]);
    const winner = answers[0].status === 201 ? 'race-1' : 'race-2';
    const loser = winner === 'race-1' ? 'race-2' : 'race-1';
    assert.equal(await agentStatus(winner), 200);
    assert.equal(await agentStatus(loser), 404);
    assert.equal((await token(made.id)).uses, 1);
  });

  test('a revoked token is refused, nothing registered; revoking it again is 404', async () => {
    const made = await createToken({ groups: ['linux'], max_uses: 5 });
    assert.equal((await enroll({ token: made.token, id: 'before-revoke' })).status, 201);
    const revoked = await h.admin('DELETE', `/api/v1/enrollment-tokens/${made.id}`);
    assert.deepEqual([revoked.status, revoked.body], [200, { id: made.id, revoked: true }]);
    assertRefused(await enroll({ token: made.token, id: 'after-revoke' }), /revoked/);
    assert.equal(await agentStatus('after-revoke'), 404);
    const after = await token(made.id);
    assert.deepEqual([after.uses, after.status, after.revoked], [1, 'revoked', true]);
    assert.equal(await agentStatus('before-revoke'), 200, 'the agents it enrolled stay registered');
    const again = await h.admin('DELETE', `/api/v1/enrollment-tokens/${made.id}`);
    assert.equal(again.status, 404);
    assert.equal((again.body as { code: string }).code, 'COURIER_ERR_ENROLLMENT_TOKEN_NOT_FOUND');
  });

  test('an unknown token, and a known id with a wrong secret, get the same answer, which tells nothing more', async () => {
    const made = await createToken({ groups: ['linux'] });
    const wrongSecret = made.token.slice(0, -4) + (made.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const unknownId = `courier-enroll_ffffffffffffffff_${made.token.split('_').slice(2).join('_')}`;
    for (const presented of [wrongSecret, unknownId, 'not-a-token-at-all', `${made.token}x`]) {
      const res = await enroll({ token: presented, id: 'stranger' });
      assertRefused(res, /^Invalid enrollment token$/);
    }
    assert.equal(await agentStatus('stranger'), 404);
    assert.equal((await token(made.id)).uses, 0);
  });

  test('refused enrollments are written to the audit trail (the anonymous ones at most once a minute per kind) and counted', async () => {
    const made = await createToken({ groups: ['linux'], max_uses: 1 });
    await h.admin('DELETE', `/api/v1/enrollment-tokens/${made.id}`);
    for (let i = 0; i < 3; i++) await enroll({ token: made.token, id: 'audited' });
    await enroll({ token: 'courier-enroll_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    const audit = await h.admin('GET', '/api/v1/audit?kind=refusal&limit=1000');
    const items = (audit.body as { items: { actor: string; detail: string }[] }).items;
    const revokedRefusals = items.filter((i) => i.actor === `enrollment-token:${made.id}` && !i.detail.includes('more refused'));
    assert.equal(revokedRefusals.length, 1, `one record for three of a kind: ${JSON.stringify(items)}`);
    assert.match(revokedRefusals[0]!.detail, /^POST \/api\/v1\/enroll: Invalid enrollment token: revoked \(COURIER_ERR_INVALID_ENROLLMENT_TOKEN\) from /);
    assert.ok(items.some((i) => i.actor === 'anonymous' && /^POST \/api\/v1\/enroll: Invalid enrollment token \(COURIER_ERR_INVALID_ENROLLMENT_TOKEN\)/.test(i.detail)));
    const metrics = String((await h.admin('GET', '/metrics')).body);
    const counted = /courier_refusals_total\{api="agents",code="COURIER_ERR_INVALID_ENROLLMENT_TOKEN"\} (\d+)/.exec(metrics);
    assert.ok(counted && Number(counted[1]) >= 4, 'every refusal is counted');
  });

  test('enrolling an id that exists is refused (409): no takeover, the agent keeps its key, no use counted', async () => {
    const key = await h.addAgent('taken-1', ['windows']);
    const made = await createToken({ groups: ['linux'] });
    const res = await enroll({ token: made.token, id: 'taken-1' });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.deepEqual(res.body, { message: 'Agent [taken-1] already exists', code: 'COURIER_ERR_AGENT_EXISTS' });
    assert.equal((await login('taken-1', key)).status, 200, 'the old key still works');
    assert.deepEqual(((await h.admin('GET', '/api/v1/agents/taken-1')).body as { groups: string[] }).groups, ['windows']);
    assert.equal((await token(made.id)).uses, 0);
  });

  test('an admin registers an existing id again with replace: a new key, the old key and its tokens stop working', async () => {
    const made = await createToken({ groups: ['linux'] });
    const first = (await enroll({ token: made.token, id: 'replaced-1' })).body as { key: string };
    const oldBearer = ((await login('replaced-1', first.key)).body as { token: string }).token;

    const plain = await h.admin('POST', '/api/v1/agents', { id: 'replaced-1', groups: ['linux'] });
    assert.equal(plain.status, 409, 'without replace, refused');
    // A poll held by the old registration is answered at the replacement, not left to its timeout.
    const polls = h.courier.supervisor.stats().longPollSubscriptions;
    const held = h.http('GET', '/api/v1/commands', { token: oldBearer });
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions > polls ? true : undefined), 'the old registration polling');
    const replaced = await h.admin('POST', '/api/v1/agents', { id: 'replaced-1', groups: ['linux'], replace: true });
    assert.deepEqual(await held, { status: 403, body: { message: 'Invalid token', code: 'COURIER_ERR_INVALID_TOKEN' } });
    assert.equal(replaced.status, 201, JSON.stringify(replaced.body));
    const { key, replaced: wasThere } = replaced.body as { key: string; replaced: boolean };
    assert.equal(wasThere, true);
    assert.notEqual(key, first.key);
    assert.equal((await login('replaced-1', first.key)).status, 401, 'the old key no longer authenticates');
    assert.equal(
      (await h.http('POST', '/api/v1/commands/results', { token: oldBearer, body: { results: [{ document_id: 'x', code: 0, message: '' }] } })).status,
      403,
      'nor a token of the old registration',
    );
    assert.equal((await login('replaced-1', key)).status, 200);

    const fresh = await h.admin('POST', '/api/v1/agents', { id: 'replaced-new', replace: true });
    assert.deepEqual([fresh.status, (fresh.body as { replaced: boolean }).replaced], [201, false], 'replace of an unknown id registers it');
  });

  test('the list shows every token without its secret', async () => {
    const made = await createToken({ groups: ['linux'], expires_in: 'never' });
    assert.equal(made.expires_at, null);
    const res = await h.admin('GET', '/api/v1/enrollment-tokens');
    assert.equal(res.status, 200);
    const { tokens } = res.body as { tokens: Record<string, unknown>[] };
    assert.ok(tokens.some((t) => t.id === made.id));
    for (const item of tokens) assert.deepEqual(Object.keys(item).sort(), TOKEN_FIELDS);
    const secret = made.token.split('_').slice(2).join('_');
    assert.ok(!JSON.stringify(res.body).includes(secret), 'the secret appears nowhere');
  });
});

describe('agent enrollment: expiry', () => {
  const clock = new SkewedClock();
  let h: Harness;
  const { createToken, enroll, token, agentStatus } = helpers(() => h);
  before(async () => {
    h = await startHarness({}, tempDir(), { clock });
  });
  after(() => h.stop());

  test('a token expires after expires_in: then refused, nothing registered, no use counted', async () => {
    const made = await createToken({ groups: ['linux'], expires_in: '30m' });
    assert.equal((await enroll({ token: made.token, id: 'in-time' })).status, 201);
    clock.advance(30 * 60_000);
    assertRefused(await enroll({ token: made.token, id: 'too-late' }), /expired/);
    assert.equal(await agentStatus('too-late'), 404);
    const after = await token(made.id);
    assert.deepEqual([after.uses, after.status], [1, 'expired']);
  });

  test('by default after 24 h; "never" lives until revoked', async () => {
    const daily = await createToken({ groups: ['linux'] });
    const forever = await createToken({ groups: ['linux'], expires_in: 'never' });
    // A minute short of a day (slack for the real time the test itself takes), then the minute.
    clock.advance(24 * 3_600_000 - 60_000);
    assert.equal((await enroll({ token: daily.token, id: 'day-1' })).status, 201);
    clock.advance(60_000);
    assertRefused(await enroll({ token: daily.token, id: 'day-2' }), /expired/);
    clock.advance(400 * 24 * 3_600_000);
    assert.equal((await enroll({ token: forever.token, id: 'years-later' })).status, 201);
  });

  test('expires_in out of bounds or not a duration: 400, no token made', async () => {
    const before = ((await h.admin('GET', '/api/v1/enrollment-tokens')).body as { tokens: unknown[] }).tokens.length;
    for (const expires_in of ['0s', '500ms', '8761h', 'tomorrow', '1d', '', '-5m']) {
      const res = await h.admin('POST', '/api/v1/enrollment-tokens', { groups: ['linux'], expires_in });
      assert.equal(res.status, 400, `${expires_in}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body as { code: string }).code, 'COURIER_ERR_VALIDATION');
      assert.match((res.body as { message: string }).message, /expires_in/);
    }
    assert.equal(((await h.admin('GET', '/api/v1/enrollment-tokens')).body as { tokens: unknown[] }).tokens.length, before);
  });
});

describe('enrollment tokens on the management API', () => {
  let h: Harness;
  const keys = {} as Record<'admin' | 'operator' | 'auditor' | 'linuxAdmin', string>;
  before(async () => {
    h = await startHarness();
    keys.admin = await h.createKey('admin', [], 'token-admin');
    keys.operator = await h.createKey('operator', [], 'token-operator');
    keys.auditor = await h.createKey('auditor', [], 'token-auditor');
    keys.linuxAdmin = await h.createKey('admin', ['group:linux'], 'linux-admin');
  });
  after(() => h.stop());

  test('an admin key creates, lists and revokes tokens; it is recorded as the creator', async () => {
    const made = created(await h.mgmt('POST', '/api/v1/enrollment-tokens', { key: keys.admin, body: { groups: ['linux'], max_uses: 2 } }));
    assert.equal(made.created_by, 'key:token-admin');
    const list = await h.mgmt('GET', '/api/v1/enrollment-tokens', { key: keys.admin });
    assert.ok((list.body as { tokens: TokenView[] }).tokens.some((t) => t.id === made.id));
    const revoked = await h.mgmt('DELETE', `/api/v1/enrollment-tokens/${made.id}`, { key: keys.admin });
    assert.equal(revoked.status, 200);
    assertRefused(await h.http('POST', '/api/v1/enroll', { body: { token: made.token } }), /revoked/);
  });

  test('operator and auditor keys may not create, list or revoke tokens (403, audited)', async () => {
    const made = created(await h.admin('POST', '/api/v1/enrollment-tokens', { groups: ['linux'] }));
    for (const role of ['operator', 'auditor'] as const) {
      for (const [method, path, body] of [
        ['POST', '/api/v1/enrollment-tokens', { groups: ['linux'] }],
        ['GET', '/api/v1/enrollment-tokens', undefined],
        ['DELETE', `/api/v1/enrollment-tokens/${made.id}`, undefined],
      ] as const) {
        const res = await h.mgmt(method, path, { key: keys[role], ...(body ? { body } : {}) });
        assert.equal(res.status, 403, `${role} ${method} ${path}`);
        assert.deepEqual(res.body, { message: `Role ${role} may not enrollment:admin`, code: 'COURIER_ERR_FORBIDDEN' });
      }
    }
    assert.equal(((await h.admin('GET', '/api/v1/enrollment-tokens')).body as { tokens: TokenView[] }).tokens.find((t) => t.id === made.id)!.revoked, false);
    const audit = await h.mgmt('GET', '/api/v1/audit?kind=refusal&actor=key:token-operator', { key: keys.admin });
    assert.ok((audit.body as { items: { detail: string }[] }).items.some((i) => i.detail.startsWith('POST /api/v1/enrollment-tokens: Role operator may not enrollment:admin')));
  });

  test('an admin key scoped to a group makes, sees and revokes only tokens of its groups', async () => {
    const linux = created(await h.mgmt('POST', '/api/v1/enrollment-tokens', { key: keys.linuxAdmin, body: { groups: ['linux'] } }));
    const windows = created(await h.admin('POST', '/api/v1/enrollment-tokens', { groups: ['windows'] }));
    for (const groups of [['windows'], ['linux', 'windows'], []]) {
      const res = await h.mgmt('POST', '/api/v1/enrollment-tokens', { key: keys.linuxAdmin, body: { groups } });
      assert.equal(res.status, 403, JSON.stringify(groups));
      assert.equal((res.body as { code: string }).code, 'COURIER_ERR_OUT_OF_SCOPE');
    }
    const seen = ((await h.mgmt('GET', '/api/v1/enrollment-tokens', { key: keys.linuxAdmin })).body as { tokens: TokenView[] }).tokens;
    assert.ok(seen.some((t) => t.id === linux.id));
    assert.ok(
      seen.every((t) => t.groups.length > 0 && t.groups.every((g) => g === 'linux')),
      JSON.stringify(seen),
    );
    for (const id of [windows.id, 'ffffffffffffffff']) {
      const res = await h.mgmt('DELETE', `/api/v1/enrollment-tokens/${id}`, { key: keys.linuxAdmin });
      assert.deepEqual([res.status, (res.body as { code: string }).code], [403, 'COURIER_ERR_OUT_OF_SCOPE'], id);
    }
    assert.equal((await h.mgmt('DELETE', `/api/v1/enrollment-tokens/${linux.id}`, { key: keys.linuxAdmin })).status, 200);
  });

  test('replace on the management API: admin only; a scoped key may not take an agent from outside its scope', async () => {
    await h.addAgent('mgmt-replaced', ['windows']);
    const operator = await h.mgmt('POST', '/api/v1/agents', { key: keys.operator, body: { id: 'mgmt-replaced', groups: ['linux'], replace: true } });
    assert.equal(operator.status, 403);
    const scoped = await h.mgmt('POST', '/api/v1/agents', { key: keys.linuxAdmin, body: { id: 'mgmt-replaced', groups: ['linux'], replace: true } });
    assert.deepEqual([scoped.status, (scoped.body as { code: string }).code], [403, 'COURIER_ERR_OUT_OF_SCOPE']);
    assert.deepEqual(((await h.admin('GET', '/api/v1/agents/mgmt-replaced')).body as { groups: string[] }).groups, ['windows'], 'untouched');
    const admin = await h.mgmt('POST', '/api/v1/agents', { key: keys.admin, body: { id: 'mgmt-replaced', groups: ['linux'], replace: true } });
    assert.equal(admin.status, 201, JSON.stringify(admin.body));
    assert.deepEqual(((await h.admin('GET', '/api/v1/agents/mgmt-replaced')).body as { groups: string[] }).groups, ['linux']);
  });
});
