import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { command, eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { CLI } from '../support/courier-process.js';
import { startAgent, type RunningAgent } from '../support/agent-process.js';

const run = promisify(execFile);

/** The reference agent and the token commands of the CLI, as separate processes. */
describe('courier CLI: enrollment', () => {
  let h: Harness;
  const dir = tempDir('courier-enroll-cli-');
  const running: RunningAgent[] = [];
  before(async () => {
    h = await startHarness({ longPollTimeout: '30s' });
  });
  after(async () => {
    for (const agent of running) agent.child.kill('SIGKILL');
    await h.stop();
  });

  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) =>
    (await run(process.execPath, [CLI, ...args], { env: { ...process.env, COURIER_URL: '', COURIER_API_KEY: '', ...env } })).stdout;
  const viaSocket = (args: string[]) => cli([...args, '--socket', h.courier.socket]);
  const uses = async (id: string) =>
    (JSON.parse(await viaSocket(['enrollment-tokens', 'list', '--json'])) as { tokens: { id: string; uses: number }[] }).tokens.find((t) => t.id === id)!.uses;

  test('enrollment-tokens create, list and revoke on the socket; the token is shown once', async () => {
    const table = await viaSocket(['enrollment-tokens', 'create', '--group', 'linux', '--group', 'web', '--expires', '30m', '--max-uses', '3']);
    assert.match(table, /token \(shown once\)/);
    const token = /courier-enroll_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(table)?.[0];
    assert.ok(token, table);
    const list = await viaSocket(['enrollment-tokens', 'list']);
    assert.match(list, /linux,web/);
    assert.match(list, /0\/3/);
    // The secret is all after the id (it may hold '_' itself: split('_') would give a fragment, found in any table by chance).
    const secret = token.slice('courier-enroll_'.length + 17);
    assert.equal(secret.length, 43);
    assert.ok(!list.includes(secret), 'the list never shows a secret');
    const id = token.split('_')[1]!;
    assert.match(await viaSocket(['enrollment-tokens', 'revoke', id]), new RegExp(`revoked ${id}`));
    const listed = JSON.parse(await viaSocket(['enrollment-tokens', 'list', '--json'])) as { tokens: { id: string; status: string }[] };
    assert.equal(listed.tokens.find((t) => t.id === id)!.status, 'revoked');
  });

  test('on the management API with --url and --key: an admin key may, an operator key may not', async () => {
    const admin = await h.createKey('admin', [], 'cli-token-admin');
    const operator = await h.createKey('operator', [], 'cli-token-operator');
    const made = JSON.parse(await cli(['enrollment-tokens', 'create', '--group', 'linux', '--json', '--url', h.courier.managementUrl, '--api-key', admin])) as {
      created_by: string;
      expires_at: string;
      created_at: string;
    };
    assert.equal(made.created_by, 'key:cli-token-admin');
    assert.equal(Date.parse(made.expires_at) - Date.parse(made.created_at), 24 * 3_600_000);
    await assert.rejects(cli(['enrollment-tokens', 'list'], { COURIER_URL: h.courier.managementUrl, COURIER_API_KEY: operator }), /403 Role operator may not enrollment:admin/);
  });

  test('courier agent --enroll: registers, keeps {id,key} in a 0600 key file, gets its commands; restarted, it uses the file', async () => {
    const made = JSON.parse(await viaSocket(['enrollment-tokens', 'create', '--group', 'cli-fleet', '--max-uses', '1', '--json'])) as { id: string; token: string };
    const keyFile = join(dir, 'agent-1.json');
    const agent = startAgent(['--url', h.url, '--enroll', made.token, '--id', 'cli-enrolled', '--name', 'cli-host', '--key-file', keyFile]);
    running.push(agent);
    await eventually(() => (agent.stderr.some((l) => l.includes('enrolled as cli-enrolled')) ? true : undefined), `the enrollment (stderr: ${agent.stderr.join('\n')})`);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file is 0600 (under umask 000)');
    const stored = JSON.parse(readFileSync(keyFile, 'utf8')) as { id: string; key: string };
    assert.deepEqual(Object.keys(stored).sort(), ['id', 'key']);
    assert.equal(stored.id, 'cli-enrolled');
    const registered = (await h.admin('GET', '/api/v1/agents/cli-enrolled')).body as { groups: string[]; name: string };
    assert.deepEqual([registered.groups, registered.name], [['cli-fleet'], 'cli-host']);

    const [first] = await h.send([command({ type: 'group', id: 'cli-fleet' })]);
    await eventually(() => (agent.stdout.some((l) => l.includes(first!.document_id)) ? true : undefined), 'the command printed by the agent');
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);

    // The token is used up (max_uses 1) and revoked: only the key file can get the agent in now.
    await viaSocket(['enrollment-tokens', 'revoke', made.id]);
    const again = startAgent(['--url', h.url, '--enroll', made.token, '--key-file', keyFile]);
    running.push(again);
    const [second] = await h.send([command({ type: 'agent', id: 'cli-enrolled' })]);
    await eventually(() => (again.stdout.some((l) => l.includes(second!.document_id)) ? true : undefined), `the second command (stderr: ${again.stderr.join('\n')})`);
    assert.ok(
      again.stderr.some((l) => l.includes('already enrolled as cli-enrolled')),
      again.stderr.join('\n'),
    );
    assert.equal(await uses(made.id), 1, 'not enrolled again');
    assert.deepEqual(JSON.parse(readFileSync(keyFile, 'utf8')), stored, 'the key file is unchanged');
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  test('a refused enrollment ends the agent with the reason, and leaves no key file', async () => {
    const keyFile = join(dir, 'refused.json');
    const agent = startAgent(['--url', h.url, '--enroll', 'courier-enroll_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '--key-file', keyFile]);
    running.push(agent);
    assert.equal(await agent.exited, 1);
    assert.match(agent.stderr.join('\n'), /401: Invalid enrollment token \(COURIER_ERR_INVALID_ENROLLMENT_TOKEN\)/);
    assert.equal(existsSync(keyFile), false);
  });

  test('--key-file without a file and without --enroll, or holding no credentials: a clear error, nothing started', async () => {
    const missing = startAgent(['--url', h.url, '--key-file', join(dir, 'nothing.json')]);
    running.push(missing);
    assert.equal(await missing.exited, 1);
    assert.match(missing.stderr.join('\n'), /no key file at .*nothing\.json: enroll first with --enroll <token>/);
    assert.equal(existsSync(join(dir, 'nothing.json')), false);

    const junk = join(dir, 'junk.json');
    writeFileSync(junk, 'not json', { mode: 0o600 });
    const broken = startAgent(['--url', h.url, '--key-file', junk]);
    running.push(broken);
    assert.equal(await broken.exited, 1);
    assert.match(broken.stderr.join('\n'), /holds no agent credentials/);
  });

  test('agents add --replace registers an existing id again and shows its new key', async () => {
    const first = JSON.parse(await viaSocket(['agents', 'add', 'cli-replaced', '--group', 'a', '--json'])) as { key: string };
    await assert.rejects(viaSocket(['agents', 'add', 'cli-replaced', '--group', 'b']), /409 Agent \[cli-replaced\] already exists/);
    const second = JSON.parse(await viaSocket(['agents', 'add', 'cli-replaced', '--group', 'b', '--name', 'rebuilt', '--replace', '--json'])) as {
      key: string;
      groups: string[];
      name: string;
      replaced: boolean;
    };
    assert.notEqual(second.key, first.key);
    assert.deepEqual([second.groups, second.name, second.replaced], [['b'], 'rebuilt', true]);
  });

  for (const transport of ['long-poll', 'websocket'] as const) {
    test(`${transport}: takes its key from COURIER_AGENT_KEY (not in its command line), says when it is connected, and stops with exit 1 once it is removed`, async () => {
      const id = `agent-cli-${transport}`;
      const key = await h.addAgent(id);
      const agent = startAgent(['--url', h.url, '--id', id, ...(transport === 'websocket' ? ['--ws'] : [])], { COURIER_AGENT_KEY: key });
      running.push(agent);
      await eventually(() => agent.stderr.find((line) => line === `agent: connected to ${h.url} as ${id} (${transport})`), 'the connected line');
      const [sent] = await h.send([command({ type: 'agent', id })]);
      await eventually(() => agent.stdout.find((line) => line.includes(sent!.document_id)), 'the command printed');
      const removed = await h.admin('DELETE', `/api/v1/agents/${id}`);
      assert.equal(removed.status, 200);
      // Refused for good: no retrying forever, a message that says why, a non-zero exit.
      assert.equal(await agent.exited, 1, agent.stderr.join('\n'));
      assert.ok(
        agent.stderr.some((line) => /courier refused this agent's credentials: .*stopping \(was the agent removed/.test(line)),
        agent.stderr.join('\n'),
      );
    });
  }

  test('without --agent-key, COURIER_AGENT_KEY or --key-file: a usage error naming all three', async () => {
    const agent = startAgent(['--url', h.url, '--id', 'nobody'], { COURIER_AGENT_KEY: '' });
    assert.equal(await agent.exited, 2);
    assert.ok(
      agent.stderr.some((line) => line.includes('give --id and --agent-key (or COURIER_AGENT_KEY), or --key-file')),
      agent.stderr.join('\n'),
    );
  });
});
