import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';

describe('admin Unix socket', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ longPollTimeout: '1s' });
  });
  after(() => h.stop());

  test('is created with mode 0660', () => {
    const mode = statSync(h.courier.socket).mode & 0o777;
    assert.equal(mode.toString(8), '660');
  });

  test('its OpenAPI document asks for no token on any route (the read routes it shares with the management API included)', async () => {
    type Doc = { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const ops = (doc: Doc) =>
      Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));
    const admin = (await h.admin('GET', '/api/v1/openapi.json')).body as Doc;
    for (const { name, op } of ops(admin)) assert.ok((op.security ?? []).length === 0, `${name} is described as needing ${JSON.stringify(op.security)}`);
    // The same routes on the management API do take a key.
    const management = (await h.mgmt('GET', '/api/v1/openapi.json')).body as Doc;
    for (const path of ['/api/v1/requests/{request_id}', '/api/v1/audit', '/api/v1/events/stream']) {
      assert.deepEqual(management.paths[path]?.get?.security, [{ bearer: [] }], path);
      assert.ok(admin.paths[path]?.get, `${path} is not on the admin socket`);
    }
    // And they answer here without one.
    const [created] = await h.send([command({ type: 'server', id: 'docs' }, 'refresh')]);
    const { request_id } = (await h.admin('GET', `/api/v1/commands/${created!.document_id}`)).body as { request_id: string };
    assert.equal((await h.admin('GET', `/api/v1/requests/${request_id}`)).status, 200);
    assert.equal((await h.admin('GET', '/api/v1/audit?limit=1')).status, 200);
  });

  test('registers, reads and removes agents; keys are never read back', async () => {
    const created = await h.admin('POST', '/api/v1/agents', { id: 'adm-1', groups: ['linux', 'db'] });
    assert.equal(created.status, 201);
    const body = created.body as { id: string; groups: string[]; key: string };
    assert.match(body.key, /^[0-9a-f]{64}$/);
    const read = await h.admin('GET', '/api/v1/agents/adm-1');
    assert.deepEqual(Object.keys(read.body as object).sort(), ['created_at', 'groups', 'id', 'name']);
    const removed = await h.admin('DELETE', '/api/v1/agents/adm-1');
    assert.equal(removed.status, 200);
    assert.equal((await h.admin('GET', '/api/v1/agents/adm-1')).status, 404);
  });

  test('the agent list says how each agent is connected, and to which node', async () => {
    const token = await h.agentToken('adm-listed');
    await h.addAgent('adm-away');
    const socket = await new AgentSocket(h.url, token).open();
    try {
      await eventually(() => (h.courier.supervisor.connectionOf('agent:adm-listed') === 'websocket' ? true : undefined), 'the WebSocket subscribed');
      const listed = (await h.admin('GET', '/api/v1/agents?limit=1000')).body as { items: { id: string; connection: string; node: string | null }[] };
      const row = (id: string) => listed.items.find((i) => i.id === id);
      assert.deepEqual({ connection: row('adm-listed')?.connection, node: row('adm-listed')?.node }, { connection: 'websocket', node: h.config.node });
      assert.deepEqual({ connection: row('adm-away')?.connection, node: row('adm-away')?.node }, { connection: 'offline', node: null });
    } finally {
      await socket.close();
    }
  });

  test('a server component long-polls its commands on the socket and reports its result there', async () => {
    const poll = h.admin('GET', '/api/v1/commands?target_type=server&target_id=rbac');
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'the component poll');
    const [created] = await h.send([command({ type: 'server', id: 'rbac' }, 'refresh', { action: { name: 'refresh', args: { index: ['rbac'] } } })]);
    const res = await poll;
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [created!.document_id],
    );
    const report = await h.admin('POST', '/api/v1/commands/results', { results: [{ document_id: created!.document_id, code: 0, message: 'cache refreshed' }] });
    assert.equal(report.status, 200);
    assert.equal(((await h.admin('GET', `/api/v1/commands/${created!.document_id}`)).body as { status: string }).status, 'success');
  });

  test("a submission of several producers' commands records each one's own producer in its trail", async () => {
    const res = await h.admin('POST', '/api/v1/commands', {
      commands: [command({ type: 'server', id: 'rbac' }, 'refresh', { user: 'alice' }), command({ type: 'server', id: 'rbac' }, 'refresh', { user: 'bob' })],
    });
    assert.equal(res.status, 201);
    const actors = [];
    for (const c of (res.body as { commands: { document_id: string }[] }).commands) {
      const trail = (await h.admin('GET', `/api/v1/commands/${c.document_id}/history`)).body as { events: { cause: string; actor: string }[] };
      actors.push(trail.events.find((e) => e.cause === 'created')!.actor);
    }
    assert.deepEqual(actors, ['user:alice', 'user:bob']);
  });

  test('an agent cannot receive a server component command', async () => {
    const token = await h.agentToken('rbac');
    await h.send([command({ type: 'server', id: 'rbac' })]);
    const res = await h.http('GET', '/api/v1/commands', { token });
    assert.equal(res.status, 408);
  });
});

describe('admin socket path on start', () => {
  test('a stale socket file left by a crash is replaced', async () => {
    const dataDir = tempDir();
    // What a process killed with SIGKILL leaves behind: a socket file with nobody listening.
    const path = join(dataDir, 'courier.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(statSync(path).isSocket());
    const h = await startHarness({}, dataDir);
    assert.equal((await h.admin('GET', '/healthz')).status, 200);
    await h.stop();
  });

  test('a socket in use by a running courier is refused with a clear error', async () => {
    const first = await startHarness();
    await assert.rejects(startHarness({ socket: first.courier.socket }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'COURIER_ERR_SOCKET_IN_USE');
      assert.match(error.message, /in use/);
      return true;
    });
    assert.equal((await first.admin('GET', '/healthz')).status, 200);
    await first.stop();
  });

  test('a file that is not a socket is never deleted', async () => {
    const dataDir = tempDir();
    const path = join(dataDir, 'not-a-socket');
    writeFileSync(path, 'precious');
    await assert.rejects(startHarness({ socket: path }, dataDir), /not a Unix socket/);
    assert.equal(statSync(path).isFile(), true);
  });
});
