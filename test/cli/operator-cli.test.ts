import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { CLI } from '../support/courier-process.js';

const run = promisify(execFile);

/** The operator CLI, as a separate process, against the admin socket and against the management API. */
describe('courier CLI (operators)', () => {
  let h: Harness;
  const agents: ReferenceAgent[] = [];
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    await h.stop();
  });

  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const { stdout } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, COURIER_URL: '', COURIER_API_KEY: '', ...env } });
    return stdout;
  };
  const socket = ['--socket', () => h.courier.socket] as const;
  const viaSocket = (args: string[]) => cli([...args, socket[0], socket[1]()]);

  test('agents add prints the generated key once, in a table or as JSON', async () => {
    const table = await viaSocket(['agents', 'add', 'cli-table-agent', '--group', 'cli']);
    assert.match(table, /cli-table-agent/);
    assert.match(table, /key \(shown once\)/);
    const json = JSON.parse(await viaSocket(['agents', 'add', 'cli-json-agent', '--group', 'cli', '--json'])) as { key: string };
    assert.match(json.key, /^[0-9a-f]{64}$/);
  });

  /** The CLI's exit code and output, whatever the code. */
  const outcome = async (args: string[]): Promise<{ code: number; stdout: string }> => {
    try {
      return { code: 0, stdout: await viaSocket(args) };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string };
      if (typeof failed.code !== 'number') throw error;
      return { code: failed.code, stdout: failed.stdout ?? '' };
    }
  };
  type Summary = { total: number; counts: Record<string, number> };

  test('send --group --wait follows a fan-out until every command has ended, prints its summary, and exits 3 when one failed', async () => {
    for (const id of ['cli-w1', 'cli-w2', 'cli-w3']) {
      const key = JSON.parse(await viaSocket(['agents', 'add', id, '--group', 'waiters', '--json'])).key as string;
      const agent = new ReferenceAgent({ url: h.url, id, key, transport: id === 'cli-w2' ? 'websocket' : 'long-poll', resultCode: id === 'cli-w3' ? 4 : 0 });
      agent.start();
      agents.push(agent);
    }
    const waited = await outcome(['send', '--group', 'waiters', '--action', 'restart', '--wait', '--json']);
    assert.equal(waited.code, 3, 'one command failed');
    const summary = JSON.parse(waited.stdout) as Summary;
    assert.equal(summary.total, 3);
    assert.deepEqual([summary.counts.success, summary.counts.failure], [2, 1]);
    const text = await viaSocket([
      'requests',
      'show',
      (JSON.parse(await viaSocket(['commands', 'list', '--agent', 'cli-w1', '--json'])) as { items: { request_id: string }[] }).items[0]!.request_id,
    ]);
    assert.match(text, /3 commands/);

    const alone = await outcome(['send', '--agent', 'cli-w1', '--action', 'restart', '--wait', '--json']);
    assert.equal(alone.code, 0, 'every command succeeded');
    assert.equal((JSON.parse(alone.stdout) as Summary).counts.success, 1);
  });

  test('send --wait exits 4 when a command timed out, 5 when one was cancelled', async () => {
    await viaSocket(['agents', 'add', 'cli-offline', '--json']);
    const timedOut = await outcome(['send', '--agent', 'cli-offline', '--action', 'restart', '--timeout', '1', '--wait', '--json']);
    assert.equal(timedOut.code, 4);
    assert.equal((JSON.parse(timedOut.stdout) as Summary).counts.timed_out, 1);

    const waiting = outcome(['send', '--agent', 'cli-offline', '--action', 'fetch-config', '--wait', '--json']);
    const listed = await eventually(async () => {
      const res = await h.admin('GET', '/api/v1/commands?agent=cli-offline&status=pending');
      return (res.body as { items: { document_id: string }[] }).items[0];
    }, 'the command waiting for its agent');
    assert.equal((await h.admin('POST', `/api/v1/commands/${listed.document_id}/cancel`)).status, 200);
    const cancelled = await waiting;
    assert.equal(cancelled.code, 5);
    assert.equal((JSON.parse(cancelled.stdout) as Summary).counts.cancelled, 1);
  });

  test("with --json, an error is JSON too: courier's message and code, or the CLI's own with code null", async () => {
    const failure = async (args: string[]) =>
      (await cli(args).then(
        () => assert.fail(`${args.join(' ')} succeeded`),
        (e: unknown) => e,
      )) as { code: number; stderr: string };
    const missing = await failure(['show', 'no-such-command', '--json', socket[0], socket[1]()]);
    assert.equal(missing.code, 1);
    const body = JSON.parse(missing.stderr) as { message: string; code: string; status: number };
    assert.equal(body.status, 404);
    assert.match(body.code, /^COURIER_ERR_/);
    assert.match(body.message, /no-such-command/);
    const local = JSON.parse((await failure(['agents', 'add', 'x', '--key', 'k', '--json', socket[0], socket[1]()])).stderr) as { message: string; code: null };
    assert.equal(local.code, null);
    assert.match(local.message, /--key is ambiguous/);
    // Without --json, a line for a person.
    assert.match((await failure(['show', 'no-such-command', socket[0], socket[1]()])).stderr, /^courier: 404 .*\(COURIER_ERR_/);
  });

  test('a command line that is not understood says why: an unknown subcommand, one missing what it needs, a target missing or doubled', async () => {
    const usage = async (args: string[]) => {
      const failed = (await cli([...args, socket[0], socket[1]()]).then(
        () => assert.fail(`${args.join(' ')} was taken`),
        (e: unknown) => e,
      )) as { code: number; stderr: string };
      assert.equal(failed.code, 2, args.join(' '));
      // The message, and the nearest known name when there is one (not the pointer to --help that follows).
      const [message, next] = failed.stderr.split('\n');
      return next?.startsWith('(Did you mean') ? `${message}\n${next}` : message;
    };
    assert.equal(await usage(['agents', 'frob', 'x']), "courier agents: unknown command 'frob'");
    assert.equal(await usage(['agents', 'lsit']), "courier agents: unknown command 'lsit'\n(Did you mean list?)");
    assert.equal(await usage(['commands', 'show']), "courier commands show: missing required argument 'document_id'");
    const bare = (await cli(['keys']).then(
      () => assert.fail('courier keys was taken'),
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    assert.equal(bare.code, 2, 'a command that needs a subcommand shows its help and exits 2');
    assert.match(bare.stderr, /^Usage: courier keys \[options\] \[command\]\n[\s\S]*create \[options\]/);
    assert.equal(await usage(['requests', 'frob']), "courier requests: unknown command 'frob'");
    assert.equal(await usage(['send', '--action', 'restart']), 'courier send: give a target: --agent, --group or --server');
    assert.equal(await usage(['send', '--agent', 'a', '--group', 'g', '--action', 'restart']), "courier send: option '--agent <id>' cannot be used with option '--group <name>'");
    assert.equal(await usage(['send', '--agent', 'a']), "courier send: required option '--action <name>' not specified");
    assert.equal(await usage(['commands', 'list', '--frm', '1h']), "courier commands list: unknown option '--frm'\n(Did you mean --from?)");
    assert.equal(
      await usage(['keys', 'create', '--role', 'superuser']),
      "courier keys create: option '--role <role>' argument 'superuser' is invalid. Allowed choices are admin, operator, auditor.",
    );
    assert.equal(
      await usage(['commands', 'list', '--status', 'done']),
      "courier commands list: option '--status <s[,s]>' argument 'done' is invalid. A status is one of pending, sent, delivered, success, failure, timed_out, cancelled (not \"done\").",
    );
    assert.equal(await usage(['audit', '--since', '1h', '--from', '2026-01-01']), "courier audit: option '--since <d>' cannot be used with option '--from <time>'");
  });

  test('--version prints the package version; a bad --timeout is named by its flag and sends nothing', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal((await cli(['--version'])).trim(), version);
    await viaSocket(['agents', 'add', 'cli-timeout', '--json']);
    for (const bad of ['abc', '0', '1.5', '-3']) {
      const result = await cli(['send', '--agent', 'cli-timeout', '--action', 'restart', `--timeout=${bad}`, socket[0], socket[1]()]).then(
        () => assert.fail(`--timeout ${bad} was taken`),
        (e: unknown) => e as { code: number; stderr: string },
      );
      assert.equal(result.code, 2);
      assert.match(result.stderr, /option '--timeout <seconds>' argument '.*' is invalid\. Give a whole number of seconds, from 1 to 2592000 \(30 days\)/);
      assert.doesNotMatch(result.stderr, /body\./);
    }
    const listed = (await h.admin('GET', '/api/v1/commands?agent=cli-timeout')).body as { items: unknown[] };
    assert.equal(listed.items.length, 0, 'nothing was sent');
  });

  test("--key is refused by name everywhere (it meant two things); --agent-key is the agent's own key and --api-key the management API's", async () => {
    const refused = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const error = (await cli(args, env).then(
        () => assert.fail(`${args.join(' ')} was not refused`),
        (e: unknown) => e,
      )) as { code: number; stderr: string };
      assert.equal(error.code, 2, 'a command line that cannot be acted on');
      return error.stderr;
    };
    const apiKey = await h.createKey('admin', [], 'cli-key-split');
    const remote = { COURIER_URL: h.courier.managementUrl, COURIER_API_KEY: apiKey };
    // The trap: with a remote API in the environment, `--key $APIKEY` made the API key the agent's secret.
    assert.match(await refused(['agents', 'add', 'cli-key-trap', '--key', apiKey], remote), /--key is ambiguous.*--api-key.*--agent-key/);
    assert.match(await refused(['agent', '--url', h.url, '--id', 'cli-key-trap', '--key', 'k']), /--key is ambiguous/);
    assert.equal((await h.admin('GET', '/api/v1/agents/cli-key-trap')).status, 404, 'nothing registered');
    assert.match(await refused(['agents', 'list', '--api-key', apiKey]), /--api-key is for a remote management API: give --url/);

    const secret = 'a'.repeat(64);
    const added = JSON.parse(await cli(['agents', 'add', 'cli-key-split', '--agent-key', secret, '--json'], remote)) as { id: string };
    assert.equal(added.id, 'cli-key-split');
    const auth = await h.http('POST', '/api/v1/authentication', { body: { uuid: 'cli-key-split', key: secret } });
    assert.equal(auth.status, 200, 'the agent authenticates with the key given as --agent-key');
    const listed = JSON.parse(await cli(['agents', 'list', '--limit', '1000', '--json', '--url', h.courier.managementUrl, '--api-key', apiKey])) as { items: { id: string }[] };
    assert.ok(
      listed.items.some((a) => a.id === 'cli-key-split'),
      'the management API reached with --api-key',
    );
  });

  test('commands list, show and history read the same commands from the socket and from the management API', async () => {
    const created = JSON.parse(await viaSocket(['send', '--agent', 'cli-table-agent', '--action', 'fetch-config', '--json'])) as {
      commands: { document_id: string; request_id: string }[];
    };
    const id = created.commands[0]!.document_id;
    const requestId = created.commands[0]!.request_id;
    // The tables show each command's request, which `requests show` takes.
    assert.match(await viaSocket(['send', '--agent', 'cli-table-agent', '--action', 'fetch-config']), /request_id/);
    const key = await h.createKey('auditor', [], 'cli-auditor');
    const remote = { COURIER_URL: h.courier.managementUrl, COURIER_API_KEY: key };
    const local = JSON.parse(await viaSocket(['commands', 'show', id, '--json'])) as { status: string };
    const viaApi = JSON.parse(await cli(['show', id, '--json'], remote)) as { status: string };
    assert.equal(viaApi.status, local.status);
    const history = JSON.parse(await cli(['history', id, '--json'], remote)) as { events: { cause: string }[] };
    assert.equal(history.events[0]!.cause, 'created');
    const list = await cli(['commands', 'list', '--agent', 'cli-table-agent'], remote);
    assert.match(list, new RegExp(`${id}.*${requestId}`));
    const audit = await cli(['audit', '--agent', 'cli-table-agent', '--json'], remote);
    const newestFirst = (JSON.parse(audit) as { items: { id: string; document_id: string }[] }).items;
    assert.ok(newestFirst.some((e) => e.document_id === id));
    // Newest first by default; --reverse: oldest first, as written.
    const ids = newestFirst.map((e) => Number(e.id));
    assert.ok(ids.length > 1);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );
    const oldestFirst = (JSON.parse(await cli(['audit', '--agent', 'cli-table-agent', '--reverse', '--json'], remote)) as { items: { id: string }[] }).items;
    assert.deepEqual(
      oldestFirst.map((e) => Number(e.id)),
      [...ids].reverse(),
    );
  });

  test('keys are created, listed and revoked on the socket; a revoked key no longer works remotely', async () => {
    const created = JSON.parse(await viaSocket(['keys', 'create', '--role', 'operator', '--scope', 'group:cli', '--name', 'cli-op', '--json'])) as {
      id: string;
      key: string;
      scopes: string[];
    };
    assert.deepEqual(created.scopes, ['group:cli']);
    assert.match(await viaSocket(['keys', 'list']), /cli-op/);
    await viaSocket(['keys', 'revoke', created.id]);
    await assert.rejects(cli(['commands', 'list'], { COURIER_URL: h.courier.managementUrl, COURIER_API_KEY: created.key }), /COURIER_ERR_INVALID_API_KEY/);
  });
});
