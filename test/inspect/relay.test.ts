import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Script } from 'node:vm';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { connectInspector, upgradeStatus, type InspectorClient } from './inspector-client.js';

type Message = Record<string, unknown> & { type: string; sessionId: string };

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('inspector relay (courier serve --inspect)', () => {
  let h: Harness;
  let ws: string;
  let token: string;
  before(async () => {
    h = await startHarness({ inspect: 'true', inspectPort: '0' });
    const inspector = h.courier.inspector!;
    ws = inspector.webSocketUrl;
    token = inspector.token;
  });
  after(() => h.stop());

  test('listens on 127.0.0.1 only, and its page URL carries the token in the fragment', () => {
    const inspector = h.courier.inspector!;
    assert.ok(inspector.port > 0);
    assert.equal(inspector.url, `http://127.0.0.1:${inspector.port}/#token=${token}`);
    assert.match(token, /^[A-Za-z0-9_-]{32}$/);
  });

  test('refuses a client without the token, with a wrong one, or from a foreign page', async () => {
    assert.equal(await upgradeStatus(ws), 401);
    assert.equal(await upgradeStatus(`${ws}?token=`), 401);
    assert.equal(await upgradeStatus(`${ws}?token=not-the-token`), 401);
    assert.equal(await upgradeStatus(`${ws}?token=${token.slice(0, -1)}`), 401);
    assert.equal(await upgradeStatus(ws, { authorization: 'Bearer wrong' }), 401);
    assert.equal(await upgradeStatus(`${ws}?token=${token}`, { origin: 'https://evil.example' }), 403);
    assert.equal(await upgradeStatus(`${ws}?token=${token}`, { origin: 'http://127.0.0.1.evil.example' }), 403);
    assert.equal(await upgradeStatus(`${ws}?token=${token}`, { host: 'rebound.example' }), 403);
  });

  test('accepts the token in the query or as a bearer header', async () => {
    assert.equal(await upgradeStatus(`${ws}?token=${encodeURIComponent(token)}`), 101);
    assert.equal(await upgradeStatus(ws, { authorization: `Bearer ${token}` }), 101);
    // From the bridge page, also through an SSH tunnel on another local port.
    assert.equal(await upgradeStatus(`${ws}?token=${token}`, { origin: 'http://localhost:18087', host: 'localhost:18087' }), 101);
  });

  test('serves the bridge page, locked down, only to a loopback Host', async () => {
    const page = await get(`http://127.0.0.1:${h.courier.inspector!.port}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<iframe id="inspector" src="https:\/\/stately\.ai\/inspect">/);
    assert.ok(!page.body.includes(token), 'the page itself never holds the token');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    // The CSP allows exactly the page's own inline script and style.
    const csp = String(page.headers['content-security-policy']);
    for (const tag of ['script', 'style']) {
      const inline = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(page.body)![1]!;
      assert.ok(csp.includes(`'sha256-${createHash('sha256').update(inline).digest('base64')}'`), `${tag} hash in the CSP`);
    }
    assert.doesNotThrow(() => new Script(new RegExp('<script>([\\s\\S]*?)</script>').exec(page.body)![1]!), 'the page script parses');
    const rebound = await get(`http://127.0.0.1:${h.courier.inspector!.port}/`, { host: 'attacker.example' });
    assert.equal(rebound.status, 403);
    const tunnelled = await get(`http://127.0.0.1:${h.courier.inspector!.port}/`, { host: 'localhost:18087' });
    assert.equal(tunnelled.status, 200);
    // The page may also probe stately.ai, to say so when the inspector cannot be loaded from there.
    assert.match(String(tunnelled.headers['content-security-policy']), /connect-src ws:\/\/localhost:18087 https:\/\/stately\.ai\/inspect;/);
    assert.ok(page.body.includes(`${h.courier.managementUrl}/console`), "the page names courier's own console");
  });

  describe('with the token', () => {
    let client: InspectorClient;
    before(async () => {
      client = await connectInspector(`${ws}?token=${token}`);
    });
    after(() => client.close());

    const messages = () => client.messages as Message[];

    test('a new viewer is told about the live actors, the supervisor first', async () => {
      const first = await eventually(() => messages().find((m) => m.type === '@xstate.actor'), 'an actor announcement');
      assert.equal(first.name, 'supervisor');
      assert.equal((first.snapshot as { value: string }).value, 'running');
      const definition = JSON.parse(first.definition as string) as { id: string; states: Record<string, unknown> };
      assert.equal(definition.id, 'supervisor');
      assert.ok('draining' in definition.states);
    });

    test("receives a command's whole lifecycle as @xstate events and snapshots, with no key or token in them", async () => {
      const agent = 'inspect-agent-1';
      const key = await h.addAgent(agent);
      const auth = await h.http('POST', '/api/v1/authentication', { body: { uuid: agent, key } });
      const agentToken = (auth.body as { token: string }).token;

      const polled = h.http('GET', '/api/v1/commands', { token: agentToken });
      const [created] = await h.send([command({ type: 'agent', id: agent })]);
      const id = created!.document_id;
      assert.equal((await polled).status, 200);
      const status = async () => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;
      await eventually(async () => ((await status()) === 'delivered' ? true : undefined), 'delivered');
      const secret = 'result-secret-value-42';
      const reported = await h.http('POST', '/api/v1/commands/results', {
        token: agentToken,
        body: { results: [{ document_id: id, code: 0, message: 'done', data: { token: secret, nested: { apiKey: secret, visible: 'shown' } } }] },
      });
      assert.equal(reported.status, 200);

      const actor = await eventually(() => messages().find((m) => m.type === '@xstate.actor' && m.name === `command ${id}`), 'the command actor');
      const own = () => messages().filter((m) => m.sessionId === actor.sessionId);
      await eventually(
        () => (own().some((m) => m.type === '@xstate.snapshot' && (m.snapshot as { value: string }).value === 'success') ? true : undefined),
        'the success snapshot',
      );
      const events = own()
        .filter((m) => m.type === '@xstate.event')
        .map((m) => (m.event as { type: string }).type);
      assert.deepEqual(events, ['xstate.init', 'CLAIM', 'TRANSPORT_CONFIRMED', 'RESULT']);
      const states = own()
        .filter((m) => m.type === '@xstate.snapshot')
        .map((m) => (m.snapshot as { value: string }).value);
      assert.deepEqual(states, ['pending', 'sent', 'delivered', 'success']);
      for (const m of own()) {
        assert.equal(typeof m.createdAt, 'string');
        assert.equal(typeof m._version, 'string');
      }

      // The command's actor shows the effects its machine names for each transition.
      const definition = actor.definition as string;
      for (const effect of ['persist', 'enqueue', 'handToConnection', 'releaseFromConnection', 'armExecutionDeadline', 'retire']) {
        assert.ok(definition.includes(`"${effect}"`), `the command machine's definition names ${effect}`);
      }
      // The supervisor actor received what the edges asked of it, as events.
      const supervisor = messages().find((m) => m.type === '@xstate.actor' && m.name === 'supervisor')!;
      const told = new Set(
        messages()
          .filter((m) => m.sessionId === supervisor.sessionId && m.type === '@xstate.event')
          .map((m) => (m.event as { type: string }).type),
      );
      for (const event of ['SUBSCRIBE', 'SUBMIT', 'WRITTEN', 'RESULTS', 'UNSUBSCRIBED']) assert.ok(told.has(event), `the supervisor received ${event}`);

      // The long-poll subscription that carried it is an actor too.
      assert.ok(messages().some((m) => m.type === '@xstate.actor' && String(m.name).startsWith(`longPollSubscription agent:${agent}`)));

      const everything = client.raw.join('\n');
      for (const leaked of [key, agentToken, token, secret]) assert.ok(!everything.includes(leaked), 'a secret left the process');
      const success = own().find((m) => m.type === '@xstate.snapshot' && (m.snapshot as { value: string }).value === 'success')!;
      assert.deepEqual((success.snapshot as { context: { result: unknown } }).context.result, {
        code: 0,
        message: 'done',
        data: { token: '[redacted]', nested: { apiKey: '[redacted]', visible: 'shown' } },
      });
    });
  });
});
