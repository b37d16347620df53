import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { CLI } from '../support/courier-process.js';

const run = promisify(execFile);

/** `courier jobs` as a separate process against a courier whose agents are real reference agents. */
describe('courier jobs (CLI)', () => {
  let h: Harness;
  const agents: ReferenceAgent[] = [];
  before(async () => {
    // Jobs driven every 100 ms rather than every second: the test waits less, nothing else changes.
    h = await startHarness({}, undefined, { jobTickMs: 100 });
    for (const id of ['job-a', 'job-b', 'job-c']) {
      const key = (await h.admin('POST', '/api/v1/agents', { id, groups: ['rollout'] })).body as { key: string };
      const agent = new ReferenceAgent({ url: h.url, id, key: key.key, transport: 'websocket', resultCode: id === 'job-c' ? 4 : 0 });
      agent.start();
      agents.push(agent);
    }
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    await h.stop();
  });

  /** The CLI's exit code, output and errors, whatever the code. */
  const cli = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--socket', h.courier.socket], { env: { ...process.env, COURIER_URL: '', COURIER_API_KEY: '' } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };
  type Shown = { status: string; steps: { action: string; counts: Record<string, number> }[]; finished: number; succeeded: number };

  test('create from flags, then show --wait: two steps per target, the failing agent never gets the second; exit 3', async () => {
    const created = await cli(['jobs', 'create', '--name', 'two-steps', '--group', 'rollout', '--action', 'fetch-config', '--action', 'restart', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const { job_id: id } = JSON.parse(created.stdout) as { job_id: string };
    const waited = await cli(['jobs', 'show', id, '--wait', '--json']);
    assert.equal(waited.code, 3, 'a step failed on one target');
    const job = JSON.parse(waited.stdout) as Shown;
    assert.equal(job.status, 'completed');
    assert.deepEqual([job.finished, job.succeeded], [3, 2]);
    assert.deepEqual(
      job.steps.map((s) => [s.action, s.counts.success, s.counts.failure, s.counts.not_started]),
      [
        ['fetch-config', 2, 1, 0],
        ['restart', 2, 0, 1],
      ],
    );
    const table = await cli(['jobs', 'show', id]);
    assert.match(table.stdout, /"two-steps": completed — 3\/3 targets finished, 2 succeeded/);
  });

  test('create --file with a canary: it waits for approval; approve, and --wait exits 0 when every target succeeded', async () => {
    const file = join(tempDir(), 'job.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'canaried',
        targets: { agents: ['job-a', 'job-b'] },
        steps: [{ action: { name: 'restart', args: {} }, timeout: 60 }],
        canary: { targets: 1, then: 'approve' },
      }),
    );
    const created = await cli(['jobs', 'create', '--file', file, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const { job_id: id } = JSON.parse(created.stdout) as { job_id: string };
    await eventually(
      async () => ((JSON.parse((await cli(['jobs', 'show', id, '--json'])).stdout) as Shown).status === 'awaiting_approval' ? true : undefined),
      'the canary to finish',
    );
    const approved = await cli(['jobs', 'approve', id]);
    assert.match(approved.stdout, new RegExp(`job ${id}: rolling_out`));
    const waited = await cli(['jobs', 'show', id, '--wait', '--json']);
    assert.equal(waited.code, 0, waited.stdout);
    const listed = await cli(['jobs', 'list', '--status', 'completed']);
    assert.match(listed.stdout, /canaried/);
    assert.match(listed.stdout, /two-steps/);
  });

  test('a command line it does not understand says why and exits 2; a refusal of courier exits 1 naming its code', async () => {
    const missing = await cli(['jobs', 'create', '--name', 'x', '--group', 'rollout']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /give --action \(one per step\)/);
    const rate = await cli(['jobs', 'create', '--name', 'x', '--group', 'rollout', '--action', 'restart', '--rate', '0']);
    assert.equal(rate.code, 2);
    assert.match(rate.stderr, /option '--rate <per-minute>' argument '0' is invalid\. Give a whole number of targets per minute, from 1 up/);
    const unknown = await cli(['jobs', 'frob']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^courier jobs: unknown command 'frob'/);
    const refused = await cli(['jobs', 'pause', 'no-such-job']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /COURIER_ERR_JOB_NOT_FOUND/);
  });
});
