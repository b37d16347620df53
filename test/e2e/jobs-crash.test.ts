import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { requestJson } from '../../src/http-client.js';
import { eventually, tempDir } from '../support/courier-harness.js';
import { freePort, spawnCourier } from '../support/courier-process.js';
import { seedAgents } from '../support/seed-agents.js';

/**
 * A courier killed with SIGKILL in the middle of a rollout: after a restart on the same data the job
 * goes on from its stored state at its rate, and no target gets the same step twice.
 */
test('a job resumes after SIGKILL mid-rollout, with no duplicate step for any target', async (t) => {
  const dataDir = tempDir();
  const ids = Array.from({ length: 60 }, (_, i) => `kill-${String(i).padStart(2, '0')}`);
  await seedAgents(dataDir, ids, ['fleet']);
  const args = ['--data-dir', dataDir, '--port', String(await freePort()), '--management-port', '0', '--log-level', 'info'];
  let server = await spawnCourier(args);
  t.after(async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: server.socket, method, path, ...(body !== undefined ? { body } : {}) });
  const commands = async (jobId: string) => {
    const res = await admin('GET', `/api/v1/commands?request_id=${jobId}&limit=1000`);
    return (res.body as { items: { agent: { id: string }; step: number; attempt: number }[] }).items;
  };

  // 600 a minute: ten new targets a second, so the kill falls in the middle.
  const created = await admin('POST', '/api/v1/jobs', {
    name: 'killed',
    targets: { groups: ['fleet'] },
    steps: [{ action: { name: 'restart', args: {} }, timeout: 3600 }],
    rollout: { max_per_minute: 600 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const jobId = (created.body as { job_id: string }).job_id;
  await eventually(async () => ((await commands(jobId)).length >= 15 ? true : undefined), 'the rollout to be under way', 30_000);
  server.child.kill('SIGKILL');
  await server.exited;

  server = await spawnCourier(args);
  const resumed = await eventually(
    async () => {
      const all = await commands(jobId);
      return all.length === ids.length ? all : undefined;
    },
    'the job to reach every target after the restart',
    60_000,
  );
  const perTarget = new Map<string, number>();
  for (const c of resumed) perTarget.set(c.agent.id, (perTarget.get(c.agent.id) ?? 0) + 1);
  assert.equal(perTarget.size, ids.length, 'every target reached');
  assert.ok(
    [...perTarget.values()].every((n) => n === 1),
    'one command per target: none made twice',
  );
  assert.ok(resumed.every((c) => c.step === 0 && c.attempt === 1));
  const job = (await admin('GET', `/api/v1/jobs/${jobId}`)).body as { status: string; steps: { counts: { pending: number } }[] };
  assert.equal(job.status, 'rolling_out', 'resumed where it was');
  assert.equal(job.steps[0]!.counts.pending, ids.length);
  // One start in its trail: the restart resumed it, it did not start it again.
  const audit = (await admin('GET', '/api/v1/audit?kind=job&limit=100')).body as { items: { job_id: string; cause: string }[] };
  assert.deepEqual(
    audit.items.filter((e) => e.job_id === jobId).map((e) => e.cause),
    ['created', 'started'],
  );
});
