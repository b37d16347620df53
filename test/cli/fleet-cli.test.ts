import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { CLI } from '../support/courier-process.js';

const run = promisify(execFile);

/** The fleet as an operator edits and reads it from the CLI: groups, filtered lists, fan-outs, keys over the API. */
describe('courier CLI (fleet)', () => {
  let h: Harness;
  let agent: ReferenceAgent | undefined;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await agent?.stop();
    await h.stop();
  });

  /** The CLI's exit code and output, whatever the code; on the admin socket unless `env` points it elsewhere. */
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    const where = env.COURIER_URL ? [] : ['--socket', h.courier.socket];
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args, ...where], { env: { ...process.env, COURIER_URL: '', COURIER_API_KEY: '', ...env } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };
  const json = async <T>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> => {
    const result = await cli([...args, '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };

  test("agents set-groups replaces an agent's groups (audited); --none leaves every group; neither is refused", async () => {
    await h.addAgent('fleet-sg', ['old']);
    const moved = await json<{ groups: string[] }>(['agents', 'set-groups', 'fleet-sg', '--group', 'linux', '--group', 'web']);
    assert.deepEqual(moved.groups, ['linux', 'web']);
    assert.deepEqual(((await h.admin('GET', '/api/v1/agents/fleet-sg')).body as { groups: string[] }).groups, ['linux', 'web']);
    const neither = await cli(['agents', 'set-groups', 'fleet-sg']);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /^courier agents set-groups: give the groups \(--group <name>, repeatable\), or --none/);
    const both = await cli(['agents', 'set-groups', 'fleet-sg', '--none', '--group', 'x']);
    assert.equal(both.code, 2);
    assert.deepEqual((await json<{ groups: string[] }>(['agents', 'set-groups', 'fleet-sg', '--none'])).groups, []);
    const trail = await cli(['audit', '--kind', 'membership', '--reverse']);
    assert.match(trail.stdout, /agent fleet-sg\tgroups old -> linux,web\tedited\tadmin-socket/);
    assert.match(trail.stdout, /agent fleet-sg\tgroups linux,web -> -\tedited/);
  });

  test('agents list --group and --state: members of a group, connected or offline', async () => {
    const key = await h.addAgent('fleet-on', ['lab']);
    await h.addAgent('fleet-off', ['lab']);
    await h.addAgent('fleet-elsewhere', ['other']);
    agent = new ReferenceAgent({ url: h.url, id: 'fleet-on', key, transport: 'websocket' });
    agent.start();
    const ids = async (args: string[]) => (await json<{ items: { id: string }[] }>(['agents', 'list', ...args])).items.map((a) => a.id);
    assert.deepEqual(await ids(['--group', 'lab']), ['fleet-off', 'fleet-on']);
    await eventually(async () => ((await ids(['--group', 'lab', '--state', 'connected'])).join() === 'fleet-on' ? true : undefined), 'fleet-on listed as connected');
    assert.deepEqual(await ids(['--group', 'lab', '--state', 'offline']), ['fleet-off']);
    assert.deepEqual(await ids(['--prefix', 'fleet-o']), ['fleet-off', 'fleet-on']);
    const bad = await cli(['agents', 'list', '--state', 'asleep']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Allowed choices are connected, offline, websocket, long-poll/);
  });

  test('requests list: the fan-outs, newest first, with what each was and its counts', async () => {
    await h.addAgent('fleet-r1', ['racks']);
    await h.addAgent('fleet-r2', ['racks']);
    const sent = await json<{ commands: { request_id: string }[] }>(['send', '--group', 'racks', '--action', 'fetch-config']);
    const requestId = sent.commands[0]!.request_id;
    const page = await json<{ items: { request_id: string; total: number; action: string; target_type: string; target_id: string; counts: Record<string, number> }[] }>([
      'requests',
      'list',
      '--limit',
      '5',
    ]);
    const [newest] = page.items;
    assert.equal(newest!.request_id, requestId);
    assert.equal(newest!.total, 2);
    assert.equal(newest!.counts.pending, 2);
    assert.deepEqual([newest!.action, newest!.target_type, newest!.target_id], ['fetch-config', 'group', 'racks']);
    const table = (await cli(['requests', 'list', '--action', 'fetch-config'])).stdout;
    assert.match(table, new RegExp(`${requestId}.*fetch-config.*group:racks.*2.*pending 2`));
  });

  test('keys create|list|revoke over the management API with an admin key, --expires included; refused to an operator', async () => {
    const adminKey = await h.createKey('admin', [], 'fleet-admin');
    const remote = { COURIER_URL: h.courier.managementUrl, COURIER_API_KEY: adminKey };
    const created = await json<{ id: string; key: string; role: string; expires_at: string }>(
      ['keys', 'create', '--role', 'auditor', '--name', 'fleet-audit', '--expires', '30d'],
      remote,
    );
    assert.equal(created.role, 'auditor');
    const days = (Date.parse(created.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days (${days})`);
    const listed = await cli(['keys', 'list'], remote);
    assert.match(listed.stdout, new RegExp(`${created.id}.*fleet-audit.*auditor`));
    const revoked = await json<{ id: string }>(['keys', 'revoke', created.id], remote);
    assert.equal(revoked.id, created.id);
    const trail = (await cli(['audit', '--kind', 'key'])).stdout;
    assert.match(trail, new RegExp(`key ${created.id}\\trevoked\\tkey:fleet-admin`));
    assert.match(trail, new RegExp(`key ${created.id}\\tcreated\\tkey:fleet-admin`));

    const operator = await h.createKey('operator', [], 'fleet-operator');
    const refused = await cli(['keys', 'list'], { COURIER_URL: h.courier.managementUrl, COURIER_API_KEY: operator });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /403 .*COURIER_ERR_FORBIDDEN/);
    const badExpiry = await cli(['keys', 'create', '--role', 'auditor', '--expires', 'someday']);
    assert.equal(badExpiry.code, 2);
    assert.match(badExpiry.stderr, /--expires <duration>' argument 'someday' is invalid/);
  });
});
