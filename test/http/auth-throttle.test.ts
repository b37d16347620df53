import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { capturingLogger } from '../support/capturing-logger.js';
import { startHarness, tempDir, type Harness } from '../support/courier-harness.js';

/**
 * Failed authentications are throttled per source address and per agent id: 15 a minute, then
 * `429 COURIER_ERR_TOO_MANY_ATTEMPTS` with Retry-After, counted and logged (once a minute). The
 * clients here connect from distinct loopback addresses (127.0.0.x), so that each case has an
 * address of its own.
 */
describe('throttled failed authentications', () => {
  let h: Harness;
  let admin: string;
  const { logger, records } = capturingLogger();
  const KEY = 'the-right-key-of-the-agent-0123';

  before(async () => {
    h = await startHarness({}, tempDir(), { logger });
    admin = await h.createKey('admin', [], 'throttle-admin');
    for (const id of ['t-agent-1', 't-agent-2', 't-agent-3', 't-agent-4']) {
      assert.equal((await h.admin('POST', '/api/v1/agents', { id, key: KEY, groups: [] })).status, 201);
    }
  });
  after(() => h.stop());

  interface Answer {
    status: number;
    body: { message: string; code: string };
    retryAfter: string | undefined;
  }

  /** One request from the loopback address `from`. */
  const send = (from: string, base: string, method: string, path: string, options: { body?: unknown; key?: string } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const url = new URL(path, base);
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const req = request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method,
          localAddress: from,
          agent: false,
          headers: {
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || 'null'), retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  const login = (from: string, uuid: string, key: string) => send(from, h.url, 'POST', '/api/v1/authentication', { body: { uuid, key } });
  const metric = async (name: string) => {
    const text = String((await h.mgmt('GET', '/metrics', { key: admin })).body);
    return Number(
      text
        .split('\n')
        .find((l) => l.startsWith(name))
        ?.split(' ')
        .at(-1) ?? 0,
    );
  };

  function assertThrottled(res: Answer, what: string): void {
    assert.equal(res.status, 429, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.deepEqual(Object.keys(res.body).sort(), ['code', 'message'], what);
    assert.equal(res.body.code, 'COURIER_ERR_TOO_MANY_ATTEMPTS', what);
    const wait = Number(res.retryAfter);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `${what}: Retry-After ${res.retryAfter}`);
  }

  test('the 16th failed attempt in a minute for an agent id is throttled, from any address; the right key too, until it ends', async () => {
    for (let i = 1; i <= 15; i++) {
      const res = await login(`127.0.0.${10 + i}`, 't-agent-1', `wrong-key-number-${i}-0123456789`);
      assert.equal(res.status, 401, `attempt ${i}: ${JSON.stringify(res.body)}`);
    }
    assertThrottled(await login('127.0.0.40', 't-agent-1', 'wrong-key-number-16-0123456789'), '16th attempt');
    // Not tried at all: a guess that happened to be right would not be told from a wrong one.
    assertThrottled(await login('127.0.0.41', 't-agent-1', KEY), 'the right key while the id is blocked');
    // Another agent from those addresses is not affected.
    assert.equal((await login('127.0.0.11', 't-agent-2', KEY)).status, 200);
    assert.ok((await metric('courier_authentication_throttled_total{api="agents",by="identity"}')) >= 2);
  });

  test('the 16th failed attempt in a minute from an address is throttled, whatever the agent id; other addresses are not', async () => {
    const from = '127.0.0.50';
    for (let i = 1; i <= 15; i++) {
      const res = await login(from, `unknown-agent-${i}`, 'some-key-0123456789');
      assert.equal(res.status, 401, `attempt ${i}`);
    }
    assertThrottled(await login(from, 'unknown-agent-16', 'some-key-0123456789'), '16th attempt from the address');
    // A registered agent with its right key, from that address, waits too; from another address it is let in.
    assertThrottled(await login(from, 't-agent-3', KEY), 'right key from the blocked address');
    assert.equal((await login('127.0.0.51', 't-agent-3', KEY)).status, 200);
    assert.ok((await metric('courier_authentication_throttled_total{api="agents",by="address"}')) >= 2);
  });

  test("a success resets the agent id's count (the address's counts on)", async () => {
    const wrong = (from: string) => login(from, 't-agent-4', 'not-the-key-0123456789');
    for (let i = 0; i < 14; i++) assert.equal((await wrong(`127.0.0.${60 + i}`)).status, 401);
    assert.equal((await login('127.0.0.80', 't-agent-4', KEY)).status, 200);
    // Without the reset, the next failure (the 15th) would block the id.
    for (let i = 0; i < 14; i++) assert.equal((await wrong(`127.0.0.${60 + i}`)).status, 401, `failure ${i + 1} after the success`);
    assert.equal((await wrong('127.0.0.81')).status, 401);
    assertThrottled(await wrong('127.0.0.82'), 'the 16th failure since the success');
  });

  test('an unknown agent id and a wrong key get the same answer: status, code and message', async () => {
    const unknown = await login('127.0.0.90', 'no-such-agent-anywhere', KEY);
    const wrongKey = await login('127.0.0.91', 't-agent-2', 'not-the-key-0123456789');
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown, wrongKey);
    assert.deepEqual(unknown.body, { message: 'Invalid agent id or key', code: 'COURIER_ERR_INVALID_KEY' });
  });

  test('bad API keys on the management API: the 16th from an address in a minute is throttled, even a valid key then', async () => {
    const from = '127.0.0.100';
    const bad = 'courier_0123456789abcdef_not-a-real-secret-not-a-real-secret-00000';
    for (let i = 1; i <= 15; i++) assert.equal((await send(from, h.courier.managementUrl, 'GET', '/api/v1/agents', { key: bad })).status, 401, `attempt ${i}`);
    assertThrottled(await send(from, h.courier.managementUrl, 'GET', '/api/v1/agents', { key: bad }), '16th bad key');
    assertThrottled(await send(from, h.courier.managementUrl, 'GET', '/api/v1/agents', { key: admin }), 'a valid key from that address');
    assert.equal((await send('127.0.0.101', h.courier.managementUrl, 'GET', '/api/v1/agents', { key: admin })).status, 200);
    assert.ok((await metric('courier_authentication_throttled_total{api="management",by="address"}')) >= 2);
    // No key at all is no guess: it is not counted.
    for (let i = 0; i < 20; i++) assert.equal((await send('127.0.0.102', h.courier.managementUrl, 'GET', '/api/v1/agents')).status, 401);
  });

  test('throttled attempts are logged, at most once a minute per API, with how many there were', async () => {
    const from = '127.0.0.110';
    for (let i = 0; i < 15; i++) await login(from, 'flood', 'flood-key-0123456789');
    const logged = () => records.filter((r) => r.msg === 'authentication attempts throttled: too many failures' && r.api === 'agents').length;
    const before = logged();
    for (let i = 0; i < 50; i++) assertThrottled(await login(from, 'flood', 'flood-key-0123456789'), `flood ${i}`);
    // The earlier tests of this file logged the agents API's first throttled attempt within the minute.
    assert.ok(before >= 1);
    assert.equal(logged(), before, 'no more lines within the minute');
  });
});
