import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCourier, CourierError, type Courier } from 'courier';
import { eventually, tempDir } from '../support/courier-harness.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const local = { host: '127.0.0.1', port: 0, managementPort: 0, insecureHttp: true, logLevel: 'silent' } as const;
const restart = (target: { type: 'agent' | 'group' | 'server'; id: string }) => ({ source: 'Users/Services', target, action: { name: 'restart', args: {} }, timeout: 100 });

describe('createCourier', () => {
  let courier: Courier;
  let dataDir: string;
  before(async () => {
    dataDir = tempDir();
    courier = await createCourier({ dataDir, ...local });
  });
  after(() => courier.close());

  test('takes only the options that differ from the defaults, and fills in the rest', () => {
    assert.equal(courier.config.dataDir, dataDir);
    assert.equal(courier.admin.socket, join(dataDir, 'courier.sock'));
    assert.equal(courier.config.longPollTimeout, 300_000);
    assert.equal(courier.config.managementHost, '127.0.0.1');
    assert.deepEqual(courier.config.plugin, []);
    assert.ok(existsSync(courier.admin.socket));
    assert.match(courier.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('refuses a bad option, naming it, before anything starts', async () => {
    const dir = tempDir();
    for (const [options, named] of [
      [{ port: '27000' }, /port: expected a port number/],
      [{ longPollTimeout: 500 }, /longPollTimeout: must be at least 1000 ms/],
      [{ longPollTimeout: -1 }, /longPollTimeout: expected a positive number of milliseconds/],
      [{ logLevel: 'loud' }, /logLevel: "loud" is not one of/],
      [{ tlsHosts: 'a,b' }, /tlsHosts: expected an array/],
      [{ dataDirectory: dir }, /unknown option "dataDirectory"/],
    ] as const) {
      await assert.rejects(createCourier({ dataDir: dir, ...local, ...(options as object) }), (error: unknown) => {
        assert.ok(error instanceof CourierError && error.code === 'COURIER_ERR_CONFIG', String(error));
        assert.match(error.message, named);
        return true;
      });
    }
    // Nothing was started on it: the directory is free.
    assert.ok(!existsSync(join(dir, 'courier.sock')));
    const started = await createCourier({ dataDir: dir, ...local });
    await started.close();
  });

  test('commands: submit (durable when answered), get, history, cancel; null for an unknown id', async () => {
    const [made] = await courier.commands.submit([restart({ type: 'server', id: 'nobody' })], { who: 'user:alice' });
    assert.equal(made!.status, 'pending');
    assert.deepEqual((await courier.commands.get(made!.document_id))?.target, { type: 'server', id: 'nobody' });
    const cancelled = await courier.commands.cancel(made!.document_id, { who: 'user:bob' });
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(
      (await courier.commands.history(made!.document_id))?.map((e) => [e.from, e.to, e.actor]),
      [
        [null, 'pending', 'user:alice'],
        ['pending', 'cancelled', 'user:bob'],
      ],
    );
    assert.equal(await courier.commands.get('no-such-command'), null);
    assert.equal(await courier.commands.history('no-such-command'), null);
    await assert.rejects(courier.commands.cancel('no-such-command'), { code: 'COURIER_ERR_COMMAND_NOT_FOUND' });
    // Submitted twice under one idempotency key: the same command, made once.
    const once1 = await courier.commands.submit([restart({ type: 'server', id: 'idem' })], { who: 'user:alice', idempotencyKey: 'k-1' });
    const once2 = await courier.commands.submit([restart({ type: 'server', id: 'idem' })], { who: 'user:alice', idempotencyKey: 'k-1' });
    assert.equal(once1[0]!.document_id, once2[0]!.document_id);
  });

  test('refuses bad commands as the socket does, naming the field, and makes none of them', async () => {
    const cases: [unknown, string, RegExp][] = [
      [[{ ...restart({ type: 'server', id: 'x' }), timeout: 0 }], 'COURIER_ERR_VALIDATION', /commands\.0\.timeout/],
      [[restart({ type: 'server', id: 'ok' }), { ...restart({ type: 'server', id: 'x' }), extra: 1 }], 'COURIER_ERR_VALIDATION', /commands\.1/],
      [[{ ...restart({ type: 'agent', id: 'a' }), action: { name: 'set-group', args: { groups: 'web' } } }], 'COURIER_ERR_VALIDATION', /groups/],
      [[], 'COURIER_ERR_NO_COMMANDS', /No commands provided/],
      ['not a list', 'COURIER_ERR_VALIDATION', /commands/],
    ];
    for (const [input, code, message] of cases) {
      await assert.rejects(courier.commands.submit(input as never, { who: 'user:alice' }), (error: unknown) => {
        assert.ok(error instanceof CourierError, String(error));
        assert.equal(error.code, code);
        assert.match(error.message, message);
        return true;
      });
    }
    await assert.rejects(courier.commands.submit([restart({ type: 'server', id: 'x' })], { who: '' }), { code: 'COURIER_ERR_VALIDATION' });
    // Nothing was made: the trail of target ok, read from its beginning, holds only the command made after.
    const events: string[] = [];
    const stop = courier.events.listen((e) => void events.push(String(e.document_id)), { after: '0', filter: { targetId: 'ok' } });
    try {
      const [probe] = await courier.commands.submit([restart({ type: 'server', id: 'ok' })], { who: 'user:alice' });
      await eventually(() => (events.includes(probe!.document_id) ? true : undefined), 'the probe in the trail');
      assert.deepEqual(events, [probe!.document_id]);
    } finally {
      stop();
    }
  });

  test('a second courier on the same data directory in this process is refused; the first runs on', async () => {
    await assert.rejects(createCourier({ dataDir, ...local }), { code: 'COURIER_ERR_DATA_DIR_IN_USE' });
    assert.equal((await courier.commands.submit([restart({ type: 'server', id: 'still' })], { who: 'user:alice' })).length, 1);
  });
});

describe('closing', () => {
  test('leaves nothing holding the process: one that embedded courier, used it and closed it exits by itself', async () => {
    // Everything the API opens is used once: a plugin route called, a subscription running, a listener, the socket held open.
    const program = `
      import { createCourier } from 'courier';
      import { request } from 'node:http';
      const courier = await createCourier({ dataDir: process.env.DATA_DIR, host: '127.0.0.1', port: 0, managementPort: 0, insecureHttp: true, logLevel: 'silent' });
      await courier.admin.register(async (app) => { app.get('/', async () => ({ pong: true })); }, { prefix: '/api/v1/ping' });
      const done = new Promise((resolve) => courier.subscribe({ type: 'server', id: 'leaks' }, () => resolve()));
      courier.events.listen(() => {});
      const [made] = await courier.commands.submit([{ source: 'test', target: { type: 'server', id: 'leaks' }, action: { name: 'refresh' }, timeout: 60 }], { who: 'user:test' });
      await done;
      const agent = new (await import('node:http')).Agent({ keepAlive: true });
      const body = await new Promise((resolve, reject) => request({ socketPath: courier.admin.socket, path: '/api/v1/ping', agent }, (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => resolve(t)); }).on('error', reject).end());
      await courier.close();
      console.log(JSON.stringify({ body, made: made.document_id }));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], { cwd: root, env: { ...process.env, DATA_DIR: tempDir() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += String(c)));
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
    clearTimeout(deadline);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `it did not exit by itself: ${err}`);
    assert.deepEqual(JSON.parse(out).body, JSON.stringify({ pong: true }));
  });
});
