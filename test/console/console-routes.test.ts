import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { AgentSocket } from '../support/agent-socket.js';

/** An answer's JSON body, read as the test asserts it. */
const json = (res: { body: unknown }) => res.body as any;

describe('the console on the management API', () => {
  let h: Harness;
  let admin: string;
  let auditor: string;
  let scoped: string;
  before(async () => {
    h = await startHarness();
    admin = await h.createKey('admin', [], 'console-admin');
    auditor = await h.createKey('auditor', [], 'console-auditor');
    scoped = await h.createKey('operator', ['agent:web-*'], 'console-scoped');
  });
  after(() => h.stop());

  const raw = (path: string) => fetch(`${h.courier.managementUrl}${path}`);

  test('the page and its files load without a key, locked down by their headers; the page holds no key', async () => {
    const page = await raw('/console');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    // The one inline script, the import map, is allowed by its hash, and nothing else inline.
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]!;
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(importMap).digest('base64')}'`));
    assert.ok(!/<script>/.test(html));
    for (const src of [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!)) {
      const asset = await raw(src);
      assert.equal(asset.status, 200, src);
      assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
    }
    const mapped = JSON.parse(importMap).imports['eventsource-parser'];
    const library = await raw(mapped);
    assert.equal(library.status, 200);
    assert.match(await library.text(), /export\s*{[^}]*createParser/);
    for (const module of ['main.js', 'pages/fleet.js', 'pages/machines.js', 'diagram.js', 'live-feed.js'])
      assert.equal((await raw(`/console/assets/${module}`)).status, 200, module);
  });

  test('a file that is not the console’s is a 404 in the error format, also a path climbing out with ../ sent as is', async () => {
    // Sent with node:http, which keeps the path as written (fetch would resolve the ../ before sending).
    const verbatim = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(h.courier.managementUrl);
        httpRequest({ hostname, port, path }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += String(chunk)));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
    for (const path of [
      '/console/assets/nope.js',
      '/console/assets/../console-routes.js',
      '/console/assets/..%2f..%2fconsole-routes.js',
      '/console/assets/pages/../../../../package.json',
      '/console/assets/',
    ]) {
      const res = await verbatim(path);
      assert.equal(res.status, 404, path);
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'COURIER_ERR_ROUTE_NOT_FOUND', path);
    }
  });

  test("its data calls need a key: the session says the key's role, scope and permissions", async () => {
    assert.equal((await h.mgmt('GET', '/api/v1/console/session')).status, 401);
    assert.equal((await h.mgmt('GET', '/api/v1/console/session', { key: 'courier_nope' })).status, 401);
    const session = await h.mgmt('GET', '/api/v1/console/session', { key: auditor });
    assert.equal(session.status, 200);
    assert.deepEqual(session.body, { name: 'console-auditor', role: 'auditor', scope: [], permissions: ['commands:read', 'audit:read', 'agents:read'], node: h.config.node });
    const narrowed = await h.mgmt('GET', '/api/v1/console/session', { key: scoped });
    assert.deepEqual(json(narrowed).scope, ['agent:web-*']);
    assert.equal((await h.mgmt('GET', '/api/v1/console/machines')).status, 401);
    assert.equal((await h.mgmt('GET', '/api/v1/console/live')).status, 401);
  });

  test('the machines: each with its diagram laid out', async () => {
    const res = await h.mgmt('GET', '/api/v1/console/machines', { key: auditor });
    assert.equal(res.status, 200);
    const commandMachine = json(res).machines.find((m: { id: string }) => m.id === 'command');
    assert.ok(commandMachine.layout.states.some((s: { path: string }) => s.path === 'delivered'));
    assert.ok(commandMachine.layout.transitions.every((t: { points: unknown[] }) => t.points.length >= 2));
    // Each transition names its event, which the page reads to tell which controls a state takes.
    assert.ok(commandMachine.layout.transitions.some((t: { event: string; source: string }) => t.event === 'CANCEL' && t.source === 'pending'));
  });

  test('the live states: the supervisor running, a connected agent’s subscription, its command in its state; not for a scoped key', async () => {
    await h.addAgent('web-1');
    const token = await h.agentToken('web-2');
    const socket = await new AgentSocket(h.url, token).open();
    try {
      const [created] = await h.send([command({ type: 'agent', id: 'web-1' })]);
      const live = await eventually(async () => {
        const res = await h.mgmt('GET', '/api/v1/console/live', { key: admin });
        return json(res).machines?.webSocketSubscription ? res : undefined;
      }, 'the WebSocket subscription listed');
      assert.deepEqual(json(live).machines.supervisor, { counts: { running: 1 }, actors: [{ id: 'supervisor', states: ['running'] }] });
      assert.deepEqual(json(live).machines.command.counts, { pending: 1 });
      assert.deepEqual(json(live).machines.command.actors, [{ id: created!.document_id, states: ['pending'] }]);
      assert.match(json(live).machines.webSocketSubscription.actors[0].id, / agent:web-2$/);
      const refused = await h.mgmt('GET', '/api/v1/console/live', { key: scoped });
      assert.equal(refused.status, 403);
      assert.equal(json(refused).code, 'COURIER_ERR_OUT_OF_SCOPE');
    } finally {
      await socket.close();
    }
  });
});
