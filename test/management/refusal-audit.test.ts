import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * An unauthenticated flood must not grow the audit trail without bound: anonymous refusals are
 * recorded once per address, route and reason and minute (the rest are counted and summarized),
 * while refusals of a valid key stay recorded one by one. Every refusal is counted in
 * `courier_refusals_total`.
 */
describe('management API: refusals in the audit trail and the metrics', () => {
  let h: Harness;
  let admin: string;
  let auditor: string;
  before(async () => {
    // About the audit trail, not the throttle of failed authentications (test/http/auth-throttle.test.ts).
    h = await startHarness({ authFailuresPerMinute: '1000' });
    admin = await h.createKey('admin', [], 'ra-admin');
    auditor = await h.createKey('auditor', [], 'ra-auditor');
  });
  after(() => h.stop());

  const refusals = async (actor: string) => {
    const res = await h.mgmt('GET', `/api/v1/audit?kind=refusal&actor=${actor}&limit=1000`, { key: admin });
    assert.equal(res.status, 200);
    return (res.body as { items: { detail: string }[] }).items.map((i) => i.detail);
  };
  const counter = async (api: string, code: string) => {
    const res = await h.mgmt('GET', '/metrics', { key: admin });
    const line = String(res.body)
      .split('\n')
      .find((l) => l.startsWith(`courier_refusals_total{api="${api}",code="${code}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  test('500 requests without a key on one route: one audit record, 500 counted', async () => {
    const before = (await refusals('anonymous')).length;
    for (let i = 0; i < 500; i++) assert.equal((await h.mgmt('GET', '/api/v1/audit')).status, 401);
    const added = (await refusals('anonymous')).slice(before);
    assert.equal(added.length, 1, JSON.stringify(added));
    assert.match(added[0]!, /^GET \/api\/v1\/audit: .*\(COURIER_ERR_MISSING_API_KEY\) from 127\.0\.0\.1$/);
    assert.equal(await counter('management', 'COURIER_ERR_MISSING_API_KEY'), 500);
  });

  test('another reason or another route is another record', async () => {
    const before = (await refusals('anonymous')).length;
    for (let i = 0; i < 20; i++) assert.equal((await h.mgmt('GET', '/api/v1/audit', { key: 'garbage' })).status, 401);
    for (let i = 0; i < 20; i++) assert.equal((await h.mgmt('GET', `/api/v1/commands/c-${i}`)).status, 401);
    const added = (await refusals('anonymous')).slice(before);
    assert.equal(added.length, 2, JSON.stringify(added));
    assert.ok(added.some((d) => d.startsWith('GET /api/v1/audit:') && d.includes('COURIER_ERR_INVALID_API_KEY')));
    assert.ok(added.some((d) => d.startsWith('GET /api/v1/commands/c-0:') && d.includes('COURIER_ERR_MISSING_API_KEY')));
  });

  test('a valid key refused (its role may not) is recorded every time', async () => {
    const before = (await refusals('key:ra-auditor')).length;
    const body = { commands: [command({ type: 'agent', id: 'nobody' })] };
    for (let i = 0; i < 5; i++) assert.equal((await h.mgmt('POST', '/api/v1/commands', { key: auditor, body })).status, 403);
    assert.equal((await refusals('key:ra-auditor')).length - before, 5);
    assert.equal(await counter('management', 'COURIER_ERR_FORBIDDEN'), 5);
  });

  test('the agents API counts its refusals too (bad tokens are not audited there)', async () => {
    for (let i = 0; i < 7; i++) assert.equal((await h.http('GET', '/api/v1/commands', { token: 'garbage' })).status, 403);
    assert.equal((await h.http('POST', '/api/v1/authentication', { body: { uuid: 'nobody', key: 'x'.repeat(32) } })).status, 401);
    assert.equal(await counter('agents', 'COURIER_ERR_INVALID_TOKEN'), 7);
    assert.equal(await counter('agents', 'COURIER_ERR_INVALID_KEY'), 1);
  });
});
