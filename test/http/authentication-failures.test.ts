import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';
import { SkewedClock, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { LogLines } from '../support/log-lines.js';
import { upgradeOutcome } from '../support/upgrade-outcome.js';

/**
 * Refused credentials on both TCP listeners are logged at warn with the reason and the address,
 * never with the secret presented, and at most 10 lines per error code a minute, then one line
 * with how many more there were. Real listeners; the log read from the stream courier writes it
 * to; the minute passed on a clock the test moves.
 */
describe('refused credentials in the log', () => {
  let h: Harness;
  const out = new LogLines();
  const clock = new SkewedClock();
  const KEY = 'the-right-key-of-the-agent-0123';
  /** Every secret presented in this suite: none may appear in any line. */
  const presented = new Set<string>([KEY]);

  before(async () => {
    // Far more failures allowed than the suite makes: the attempts are tried, not throttled.
    h = await startHarness({ authFailuresPerMinute: '1000' }, tempDir(), { logger: createLogger({ logLevel: 'info', logFormat: 'json' }, out), clock });
    assert.equal((await h.admin('POST', '/api/v1/agents', { id: 'af-1', key: KEY, groups: [] })).status, 201);
  });
  after(() => h.stop());

  const failed = (code: string) => out.withMessage('authentication failed').filter((r) => r.code === code);
  const suppressed = (code: string) => out.withMessage('authentication failures suppressed').filter((r) => r.code === code);

  test('a flood of wrong agent keys: 10 lines, then one saying how many more once the minute is over', async () => {
    const wrong = 'not-the-key-s3cr3t-0123456789';
    presented.add(wrong);
    for (let i = 0; i < 25; i++) {
      const res = await h.http('POST', '/api/v1/authentication', { body: { uuid: 'af-1', key: wrong } });
      assert.equal(res.status, 401);
    }
    const lines = failed('COURIER_ERR_INVALID_KEY');
    assert.equal(lines.length, 10);
    for (const line of lines) {
      assert.equal(line.level, 40);
      assert.deepEqual(
        { api: line.api, reason: line.reason, agentId: line.agentId, address: line.address, route: line.route },
        { api: 'agents', reason: 'wrong key', agentId: 'af-1', address: '127.0.0.1', route: 'POST /api/v1/authentication' },
      );
      assert.match(line.time as string, /^\d{4}-\d\d-\d\dT/);
    }
    assert.deepEqual(suppressed('COURIER_ERR_INVALID_KEY'), [], 'the minute is not over');

    clock.advance(60_000);
    const unknown = 'a-key-for-no-agent-s3cr3t';
    presented.add(unknown);
    assert.equal((await h.http('POST', '/api/v1/authentication', { body: { uuid: 'af-nobody', key: unknown } })).status, 401);
    const [summary, ...more] = suppressed('COURIER_ERR_INVALID_KEY');
    assert.deepEqual(more, []);
    assert.equal(summary!.level, 40);
    assert.deepEqual(
      { api: summary!.api, suppressed: summary!.suppressed, lastAddress: summary!.lastAddress, lastReason: summary!.lastReason },
      { api: 'agents', suppressed: 15, lastAddress: '127.0.0.1', lastReason: 'wrong key' },
    );
    const next = failed('COURIER_ERR_INVALID_KEY').at(-1)!;
    assert.deepEqual({ reason: next.reason, agentId: next.agentId }, { reason: 'unknown agent', agentId: 'af-nobody' }, 'the new minute logs again');
    // The summary comes before the line that began the new minute.
    assert.ok(out.lines.indexOf(JSON.stringify(summary)) < out.lines.indexOf(JSON.stringify(next)));
  });

  test('bad and stale agent tokens, on a long-poll and on the WebSocket', async () => {
    const garbage = 'eyJhbGciOiJSUzI1NiJ9.bm90LWEtdG9rZW4.c2lnbmF0dXJlLXMzY3IzdA';
    presented.add(garbage);
    assert.equal((await h.http('GET', '/api/v1/commands', { token: garbage })).status, 403);
    assert.equal(await upgradeOutcome(h.url, garbage), '403 COURIER_ERR_INVALID_TOKEN');
    const token = await h.agentToken('af-removed');
    presented.add(token);
    assert.equal((await h.admin('DELETE', '/api/v1/agents/af-removed')).status, 200);
    assert.equal((await h.http('GET', '/api/v1/commands', { token })).status, 403);

    const lines = failed('COURIER_ERR_INVALID_TOKEN').map((r) => ({ route: r.route, reason: r.reason, agentId: r.agentId, address: r.address }));
    assert.equal(lines.length, 3, JSON.stringify(lines));
    assert.equal(lines[0]!.route, 'GET /api/v1/commands');
    assert.equal(lines[1]!.route, 'GET /api/v1/commands/ws');
    // A library's refusal is named by its code, never by its message (which may quote the token).
    for (const line of lines.slice(0, 2)) assert.match(line.reason as string, /^ERR_JW[ST]_/);
    assert.deepEqual(lines[2], { route: 'GET /api/v1/commands', reason: 'agent not registered (removed)', agentId: 'af-removed', address: '127.0.0.1' });
  });

  test('missing and wrong API keys on the management API', async () => {
    const key = await h.createKey('auditor', [], 'af-auditor');
    presented.add(key);
    const forged = `${key.slice(0, -6)}${key.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
    presented.add(forged);
    assert.equal((await h.mgmt('GET', '/api/v1/audit')).status, 401);
    assert.equal((await h.mgmt('GET', '/api/v1/audit', { key: forged })).status, 401);
    assert.equal((await h.mgmt('GET', '/api/v1/audit', { key })).status, 200);

    const [missing] = failed('COURIER_ERR_MISSING_API_KEY');
    assert.deepEqual({ api: missing!.api, route: missing!.route, address: missing!.address }, { api: 'management', route: 'GET /api/v1/audit', address: '127.0.0.1' });
    const [wrong, ...more] = failed('COURIER_ERR_INVALID_API_KEY');
    assert.deepEqual(more, []);
    const keyId = /^courier_([0-9a-f]{16})_/.exec(key)![1];
    assert.deepEqual({ api: wrong!.api, reason: wrong!.reason, keyId: wrong!.keyId }, { api: 'management', reason: 'wrong secret', keyId });
  });

  test('no line holds a secret presented (keys, tokens, the right ones and the wrong ones)', () => {
    assert.ok(presented.size >= 6 && out.lines.length > 0);
    for (const line of out.lines) for (const secret of presented) assert.ok(!line.includes(secret), `a secret in the log: ${line}`);
  });
});
