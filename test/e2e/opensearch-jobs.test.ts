import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { requestJson } from '../../src/http-client.js';
import { eventually, startHarnesses, tempDir, type Harness } from '../support/courier-harness.js';
import { spawnOpenSearchNode } from '../support/courier-process.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

interface JobView {
  status: string;
  driven_by: string | null;
  steps: { counts: Record<string, number> }[];
}

/**
 * Jobs on OpenSearch with several nodes: each job is driven by exactly one node (a lease in its
 * document, taken and renewed by conditional writes); when that node dies another takes it over
 * within the lease; an operator's pause through another node moves the job there.
 */
describe('jobs on OpenSearch, across nodes', { skip: tier.skip }, () => {
  let url: string;
  let prefix: string;
  let a: Harness;
  let b: Harness;

  before(async () => {
    url = await tier.url();
    prefix = indexPrefix('jobs');
    const shared = { opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '200ms', rescanInterval: '500ms', claimLease: '2s' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-a' }, { ...shared, node: 'node-b' })) as [Harness, Harness];
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  const servers = (n: number, name: string) => Array.from({ length: n }, (_, i) => `${name}-${i}`);
  const restart = { action: { name: 'restart', args: {} }, timeout: 3600 };
  const view = async (h: Harness, id: string) => (await h.admin('GET', `/api/v1/jobs/${id}`)).body as JobView;
  const made = (job: JobView) => job.steps[0]!.counts.pending! + job.steps[0]!.counts.cancelled!;

  test('a job is driven by the node that created it, read the same from every node, and paused through another node moves there', { timeout: 60_000 }, async () => {
    const created = await a.admin('POST', '/api/v1/jobs', { name: 'two-nodes', targets: { servers: servers(40, 'two') }, steps: [restart], rollout: { max_per_minute: 120 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { job_id: string }).job_id;
    await eventually(async () => (made(await view(b, id)) >= 3 ? true : undefined), 'commands of the job, seen from node b');
    const seen = await view(b, id);
    assert.deepEqual([seen.status, seen.driven_by], ['rolling_out', 'node-a']);
    // Node b is asked: it takes the job over (a conditional write), pauses it, and drives it from now on.
    const paused = await b.admin('POST', `/api/v1/jobs/${id}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal((paused.body as { status: string }).status, 'paused');
    const now = await view(a, id);
    assert.deepEqual([now.status, now.driven_by], ['paused', 'node-b']);
    // Node a learns at its next write that the job is no longer its own, and lets it go.
    await eventually(() => (a.courier.jobs.stats().byStatus.rolling_out === 0 ? true : undefined), 'node a to let the job go');
    const count = made(await view(a, id));
    const resumed = await a.admin('POST', `/api/v1/jobs/${id}/cancel`);
    assert.equal((resumed.body as { status: string }).status, 'cancelled');
    const ended = await view(b, id);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.steps[0]!.counts.pending, 0, 'what was pending is cancelled');
    assert.ok(made(ended) >= count);
  });

  test('killing the node that drives a job hands it to another within the lease; no target gets its step twice', { timeout: 120_000 }, async () => {
    const dataDir = tempDir();
    const killed = await spawnOpenSearchNode({ url, prefix, node: 'node-k', dataDir }, ['--claim-lease', '2s']);
    try {
      const targets = servers(30, 'kill');
      const created = await requestJson({
        socketPath: killed.socket,
        method: 'POST',
        path: '/api/v1/jobs',
        body: { name: 'orphaned', targets: { servers: targets }, steps: [restart], rollout: { max_per_minute: 120 } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = (created.body as { job_id: string }).job_id;
      await eventually(async () => (made(await view(b, id)) >= 4 ? true : undefined), 'the rollout to be under way on node k');
      assert.equal((await view(b, id)).driven_by, 'node-k');
      killed.child.kill('SIGKILL');
      await killed.exited;

      const taken = await eventually(
        async () => {
          const job = await view(b, id);
          return job.driven_by === 'node-a' || job.driven_by === 'node-b' ? job : undefined;
        },
        'another node to take the job over',
        30_000,
      );
      assert.equal(taken.status, 'rolling_out');
      await eventually(async () => (made(await view(b, id)) === targets.length ? true : undefined), 'every target reached', 60_000);
      const listed = await b.admin('GET', `/api/v1/commands?request_id=${id}&limit=1000`);
      const commands = (listed.body as { items: { target: { id: string } }[] }).items;
      assert.equal(commands.length, targets.length, 'one command per target');
      assert.deepEqual(commands.map((c) => c.target.id).sort(), [...targets].sort());
    } finally {
      killed.child.kill('SIGKILL');
      await killed.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
