import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requestJson } from '../../src/http-client.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { freePort, spawnCourier } from '../support/courier-process.js';
import { mountTmpfs, smallFilesystemSkip, type SmallFilesystem } from '../support/small-filesystem.js';

/**
 * Courier on a real filesystem that fills up: SQLite's own "database or disk is full". Producers
 * are told so (507 COURIER_ERR_STORE_FULL, nothing stored), /healthz says it, writes resume by
 * themselves once there is room, and a shutdown while writes keep failing ends at its deadline.
 */
describe('disk full', { skip: smallFilesystemSkip() }, () => {
  let disk: SmallFilesystem;
  before(() => {
    disk = mountTmpfs(16);
  });
  after(() => disk.unmount());

  test('a create is answered 507 COURIER_ERR_STORE_FULL and stores nothing; /healthz says why; writes resume once there is room', async () => {
    const h: Harness = await startHarness({}, join(disk.dir, 'in-process'));
    try {
      await h.addAgent('full-1');
      disk.fill();
      const refused = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'full-1' })] });
      assert.equal(refused.status, 507);
      assert.deepEqual(refused.body, { message: 'The store is full: database or disk is full', code: 'COURIER_ERR_STORE_FULL' });
      const health = await h.admin('GET', '/healthz');
      assert.equal(health.status, 503);
      assert.equal((health.body as { code: string }).code, 'COURIER_ERR_STORE_FULL');
      assert.match((health.body as { reason: string }).reason, /disk is full/);

      disk.free();
      // Nothing was left to retry: a probe finds the database writable again, before any new create.
      await eventually(async () => ((await h.admin('GET', '/healthz')).status === 200 ? true : undefined), '/healthz to be ok once there is room');
      const created = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'full-1' })] });
      assert.equal(created.status, 201);
      assert.equal((await h.admin('GET', '/healthz')).status, 200);
      const list = await h.admin('GET', '/api/v1/commands?target_id=full-1&limit=10');
      assert.equal((list.body as { items: unknown[] }).items.length, 1, 'the refused create must not have been stored');
    } finally {
      disk.free();
      await h.stop();
    }
  });

  test('SIGTERM while status writes keep failing exits non-zero at --shutdown-timeout, says what was not written, and the restart takes it up', async (t) => {
    const dataDir = join(disk.dir, 'process');
    const args = ['--data-dir', dataDir, '--port', String(await freePort()), '--management-port', '0', '--shutdown-timeout', '2s', '--long-poll-timeout', '30s'];
    let server = await spawnCourier(args);
    t.after(async () => {
      server.child.kill('SIGKILL');
      await server.exited;
    });
    const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: server.socket, method, path, ...(body !== undefined ? { body } : {}) });
    const key = ((await admin('POST', '/api/v1/agents', { id: 'full-2' })).body as { key: string }).key;
    const token = ((await requestJson({ baseUrl: server.url, method: 'POST', path: '/api/v1/authentication', body: { uuid: 'full-2', key } })).body as { token: string }).token;
    const created = await admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'full-2' }, 'restart', { timeout: 3600 })] });
    const id = (created.body as { commands: { document_id: string }[] }).commands[0]!.document_id;
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await requestJson({ baseUrl: server.url, method: 'GET', path: '/api/v1/commands', headers: auth })).status, 200);
    await eventually(async () => (((await admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status === 'delivered' ? true : undefined), 'delivered');

    disk.fill();
    // The agent's result cannot be written: its request waits while the change is retried.
    const report = requestJson({
      baseUrl: server.url,
      method: 'POST',
      path: '/api/v1/commands/results',
      headers: auth,
      body: { results: [{ document_id: id, code: 0, message: 'done' }] },
    });
    await eventually(async () => ((await admin('GET', '/healthz')).status === 503 ? true : undefined), '/healthz to report the failing writes');

    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 1, 'a shutdown that could not write everything must exit non-zero');
    const timeout = server.logs.find((l) => l.code === 'COURIER_ERR_SHUTDOWN_TIMEOUT');
    assert.ok(timeout, `no shutdown-timeout log line in ${JSON.stringify(server.logs.slice(-5))}`);
    assert.match(String(timeout.msg), /Shutdown did not finish within 2000 ms: 1 status change\(s\) and 0 create\(s\) of 1 command\(s\) were not written \(.*disk is full\)/);
    assert.deepEqual((timeout.unwritten as { sample: string[] }).sample, [id]);
    // The waiting agent was told to come back (503), not that its result was recorded.
    const answered = await report.catch((error: Error) => ({ status: 0, body: error.message }));
    assert.notEqual(answered.status, 200, JSON.stringify(answered.body));

    disk.free();
    server = await spawnCourier(args);
    const stored = await admin('GET', `/api/v1/commands/${id}`);
    assert.equal((stored.body as { status: string }).status, 'delivered', 'the unwritten result must not appear as written');
    const again = await requestJson({
      baseUrl: server.url,
      method: 'POST',
      path: '/api/v1/commands/results',
      headers: auth,
      body: { results: [{ document_id: id, code: 0, message: 'done' }] },
    });
    assert.equal(again.status, 200);
    assert.equal((again.body as { results: { outcome: string; status: string }[] }).results[0]!.status, 'success');
  });
});
