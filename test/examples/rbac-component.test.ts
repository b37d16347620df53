import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requestJson } from '../../src/http-client.js';
import { eventually, tempDir } from '../support/courier-harness.js';
import { CLI, spawnCourier } from '../support/courier-process.js';

// The example component (examples/rbac), run both ways docs/embedding.md describes: embedded in a
// program with courier, and loaded by `courier serve --plugin`.

const examples = join(fileURLToPath(import.meta.url), '..', '..', '..', 'examples', 'rbac');
const component = join(examples, 'rbac-component.js');

/** What the rbac component does, seen from another process on the socket. */
async function exerciseRbac(socket: string): Promise<void> {
  const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: socket, method, path, ...(body !== undefined ? { body } : {}) });
  assert.deepEqual((await admin('GET', '/api/v1/rbac/status')).body, { version: 0, refreshed_at: null, last_command: null, subscribed: true });
  // Its own route, with the socket's refusals.
  const refused = await admin('POST', '/api/v1/rbac/refresh', { why: 'no reason field' });
  assert.deepEqual([refused.status, (refused.body as { code: string }).code], [400, 'COURIER_ERR_VALIDATION']);
  const asked = await admin('POST', '/api/v1/rbac/refresh', { reason: 'policy change' });
  assert.equal(asked.status, 202);
  const { document_id: first } = asked.body as { document_id: string };
  // A producer elsewhere sends it a command as Wazuh's server does: target server:rbac.
  const sent = await admin('POST', '/api/v1/commands', {
    commands: [{ source: 'Users/Services', target: { type: 'server', id: 'rbac' }, action: { name: 'refresh' }, timeout: 60 }],
  });
  assert.equal(sent.status, 201);
  const second = (sent.body as { commands: { document_id: string }[] }).commands[0]!.document_id;
  const status = await eventually(async () => {
    const now = (await admin('GET', '/api/v1/rbac/status')).body as { version: number; last_command: string };
    return now.version === 2 ? now : undefined;
  }, 'both refreshes run');
  assert.equal(status.last_command, second);
  for (const id of [first, second]) {
    const command = (await admin('GET', `/api/v1/commands/${id}`)).body as { status: string; result: { code: number; message: string } };
    assert.equal(command.status, 'success');
    assert.match(command.result.message, /^policies reloaded \(version [12]\)$/);
  }
  // An action it does not know is a failure, with its reason.
  const unknown = await admin('POST', '/api/v1/commands', {
    commands: [{ source: 'Users/Services', target: { type: 'server', id: 'rbac' }, action: { name: 'explode' }, timeout: 60 }],
  });
  const unknownId = (unknown.body as { commands: { document_id: string }[] }).commands[0]!.document_id;
  const failed = await eventually(async () => {
    const command = (await admin('GET', `/api/v1/commands/${unknownId}`)).body as { status: string; result?: { code: number; message: string } };
    return command.result ? command : undefined;
  }, 'the unknown action answered');
  assert.deepEqual([failed.status, failed.result!.code], ['failure', 2]);
}

describe('the rbac example component', () => {
  test('embedded in a program with courier: its commands run in process, its routes answer on the socket, and SIGTERM ends the program by itself', async () => {
    const child = spawn(process.execPath, [join(examples, 'embedded.js'), tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const closed = once(child, 'close') as Promise<[number | null, string | null]>;
    // Its line saying where the socket is (courier's own log lines may come before it).
    const ready = new Promise<string | null>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => line.startsWith('{"socket"') && resolve(line));
      void closed.then(() => resolve(null));
    });
    const line = await ready;
    assert.ok(line, `the program ended before it was ready: ${stderr}`);
    const { socket, routes } = JSON.parse(line) as { socket: string; routes: string[] };
    assert.deepEqual(routes, ['/api/v1/rbac']);
    try {
      await exerciseRbac(socket);
    } finally {
      child.kill('SIGTERM');
    }
    // The example never calls process.exit: it ends because courier closed everything it held.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = await closed;
    clearTimeout(deadline);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  });

  test('loaded by `courier serve --plugin`: the same component, the same routes and commands', async () => {
    const node = await spawnCourier(['--data-dir', tempDir(), '--port', '0', '--management-port', '0', '--plugin', component]);
    try {
      assert.ok(
        node.logs.some((l) => l.msg === 'plugin routes on the admin socket' && l.prefix === '/api/v1/rbac'),
        JSON.stringify(node.logs.map((l) => l.msg)),
      );
      await exerciseRbac(node.socket);
    } finally {
      node.child.kill('SIGTERM');
    }
    assert.equal(await node.exited, 0);
  });

  test('a plugin module that cannot be used stops `courier serve` before it starts, saying which and why', async () => {
    const bad = join(tempDir(), 'no-prefix.mjs');
    writeFileSync(bad, 'export const plugin = async () => {};\n');
    const dataDir = tempDir();
    // Through the environment this time (COURIER_PLUGIN), as a unit file would set it.
    const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--port', '0', '--management-port', '0', '--insecure-http'], {
      env: { ...process.env, COURIER_PLUGIN: bad },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.notEqual(code, 0);
    assert.match(output, /Plugin module .*no-prefix\.mjs cannot be used: it exports no `prefix`/);
    assert.match(output, /COURIER_ERR_PLUGIN_MODULE/);
    assert.ok(!output.includes('courier is running'), output);
  });
});
