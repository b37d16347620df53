import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { requestJson } from '../../src/http-client.js';
import { command, eventually, tempDir } from '../support/courier-harness.js';
import { freePort, spawnCourier } from '../support/courier-process.js';
import { seedAgents } from '../support/seed-agents.js';

/**
 * The producer of a large fan-out never got its answer: courier was killed (SIGKILL) while the
 * fan-out was being written, some of its commands stored and others not. Retrying with the same
 * Idempotency-Key after the restart completes it: every member has exactly one command, and the
 * ones stored before the kill are the same commands (they were not made again).
 */
test('a fan-out cut by kill -9 is completed by its retry under the same Idempotency-Key, each member once', async (t) => {
  const members = 20_000;
  const dataDir = tempDir();
  await seedAgents(
    dataDir,
    Array.from({ length: members }, (_, i) => `fan-${i}`),
    ['fleet'],
  );
  const args = ['--data-dir', dataDir, '--port', String(await freePort()), '--management-port', '0'];
  let server = await spawnCourier(args);
  t.after(async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const socket = () => server.socket;
  const create = () =>
    requestJson({
      socketPath: socket(),
      method: 'POST',
      path: '/api/v1/commands',
      headers: { 'idempotency-key': 'nightly-restart-42' },
      body: { commands: [command({ type: 'group', id: 'fleet' })] },
    });
  /** The request's commands stored so far (the socket answers between two slices of the fan-out). */
  const storedSoFar = async (): Promise<{ requestId: string; total: number } | undefined> => {
    const newest = await requestJson({ socketPath: socket(), method: 'GET', path: '/api/v1/commands?limit=1' });
    const requestId = (newest.body as { items: { request_id: string }[] }).items[0]?.request_id;
    if (!requestId) return undefined;
    const summary = await requestJson({ socketPath: socket(), method: 'GET', path: `/api/v1/requests/${requestId}` });
    return { requestId, total: (summary.body as { total: number }).total };
  };

  void create().catch(() => {}); // its answer never comes
  const partial = await eventually(
    async () => {
      const so = await storedSoFar();
      return so && so.total > 0 ? so : undefined;
    },
    'the first slices of the fan-out',
    60_000,
  );
  server.child.kill('SIGKILL');
  await server.exited;

  server = await spawnCourier(args);
  const before = (await storedSoFar())!;
  assert.equal(before.requestId, partial.requestId);
  assert.ok(before.total < members, `the kill came too late to cut the fan-out (${before.total} of ${members} stored)`);
  const firstIds = await requestJson({ socketPath: socket(), method: 'GET', path: `/api/v1/commands?request_id=${before.requestId}&limit=1000` });
  const storedBefore = (firstIds.body as { items: { document_id: string }[] }).items.map((c) => c.document_id);

  const retry = await create();
  assert.equal(retry.status, 201, JSON.stringify(retry.body).slice(0, 300));
  const answer = retry.body as { commands: { document_id: string; agent_id: string; request_id: string }[]; total: number };
  assert.equal(answer.total, members);
  assert.equal(answer.commands[0]!.request_id, before.requestId);
  assert.equal(new Set(answer.commands.map((c) => c.agent_id)).size, members, 'each member exactly once');
  const answered = new Set(answer.commands.map((c) => c.document_id));
  assert.ok(
    storedBefore.every((id) => answered.has(id)),
    'a command stored before the kill was made again',
  );
  const after = (await storedSoFar())!;
  assert.equal(after.total, members, 'the store holds each member once, no more');
});
