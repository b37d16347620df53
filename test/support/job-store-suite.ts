/**
 * Store-level tests of jobs, run against each adapter (the embedded SQLite store and OpenSearch):
 * a job stored with its first audit record, read back, listed newest first with a cursor, saved with
 * its transitions, its commands read back with their step and attempt, the unfinished ones found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandDocument } from '../../src/domain/command.js';
import type { JobRecord } from '../../src/domain/job.js';
import { INITIAL_STATUS } from '../../src/domain/command.js';
import type { CommandStore } from '../../src/store/store.js';

const T0 = 1_800_000_000_000;
let n = 0;

export function jobRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  n++;
  return {
    id: `job-${n}-${Math.random().toString(16).slice(2, 8)}`,
    spec: { name: `job ${n}`, targets: { agents: ['a1'] }, steps: [{ action: { name: 'restart', args: {}, version: '' }, timeout: 60 }] },
    status: 'scheduled',
    targets: ['agent:a1', 'agent:a2'],
    createdAt: T0 + n,
    owner: 'socket',
    updatedAt: T0 + n,
    snapshot: null,
    abortReason: null,
    lease: null,
    ...overrides,
  };
}

function jobCommand(jobId: string, route: string, step: number, attempt: number, seq: number): CommandDocument {
  return {
    document_id: `${jobId}-${route}-${step}-${attempt}`,
    '@timestamp': new Date(T0).toISOString(),
    delivery_timestamp: new Date(T0 + 60_000).toISOString(),
    agent: { id: route.slice('agent:'.length), groups: [] },
    command: {
      source: 'job',
      target: { type: 'agent', id: route.slice('agent:'.length) },
      action: { name: 'restart', args: {}, version: '' },
      timeout: 60,
      request_id: jobId,
      order_id: 'o',
    },
    route,
    seq,
    owner: 'socket',
    job: { id: jobId, step, attempt },
  };
}

export function jobStoreTests(store: () => CommandStore, seqBase: number): void {
  const audit = (job: JobRecord, from: JobRecord['status'] | null, cause: string) => ({ job_id: job.id, from, to: job.status, cause, at: T0, node: 'node-1', actor: 'tester' });

  test('a job: stored with its audit record, read back as it was, saved with its transition, listed newest first', async () => {
    const jobs = store().jobs!;
    const job = jobRecord();
    const version = await jobs.add(job, audit(job, null, 'created'));
    const read = await jobs.get(job.id);
    assert.deepEqual({ ...read, version: undefined }, { ...job, version: undefined });
    const next: JobRecord = { ...job, ...(version !== undefined ? { version } : {}), status: 'rolling_out', snapshot: { value: 'rolling_out' }, updatedAt: T0 + 100 };
    await jobs.save(next, audit(next, 'scheduled', 'started'));
    assert.equal((await jobs.get(job.id))!.status, 'rolling_out');
    assert.deepEqual((await jobs.get(job.id))!.snapshot, { value: 'rolling_out' });
    assert.equal(await jobs.get('no-such-job'), null);

    const later = jobRecord({ status: 'completed' });
    await jobs.add(later, audit(later, null, 'created'));
    const first = await jobs.list({}, { limit: 1 });
    assert.deepEqual(
      first.items.map((j) => j.id),
      [later.id],
    );
    const second = await jobs.list({}, { limit: 1, cursor: first.next });
    assert.deepEqual(
      second.items.map((j) => j.id),
      [job.id],
    );
    const running = await jobs.list({ status: ['rolling_out'] }, { limit: 100 });
    assert.ok(running.items.some((j) => j.id === job.id) && running.items.every((j) => j.status === 'rolling_out'));
    const unfinished = (await jobs.unfinished()).map((j) => j.id);
    assert.ok(unfinished.includes(job.id) && !unfinished.includes(later.id));

    const trail = await store().operators!.queryAudit({ kind: 'job' }, { limit: 1000 });
    assert.deepEqual(
      trail.items.filter((e) => e.kind === 'job' && e.job_id === job.id).map((e) => (e.kind === 'job' ? [e.from, e.to, e.cause] : null)),
      [
        [null, 'scheduled', 'created'],
        ['scheduled', 'rolling_out', 'started'],
      ],
    );
  });

  test("a job's commands read back with their route, step, attempt and status; others' are not", async () => {
    const jobs = store().jobs!;
    const job = jobRecord();
    await jobs.add(job, audit(job, null, 'created'));
    const docs = [jobCommand(job.id, 'agent:a1', 0, 1, seqBase + 1), jobCommand(job.id, 'agent:a1', 0, 2, seqBase + 2), jobCommand('another-job', 'agent:a1', 0, 1, seqBase + 3)];
    const at = T0 + 5;
    await store().commit({
      creates: docs.map((doc) => ({ doc, audit: { document_id: doc.document_id, from: null, to: INITIAL_STATUS, cause: 'created', at, node: 'node-1', actor: 'tester' } })),
      changes: [],
    });
    const read = (await jobs.commands(job.id)).sort((x, y) => x.attempt - y.attempt);
    assert.deepEqual(
      read.map((c) => [c.document_id, c.route, c.step, c.attempt, c.status]),
      [
        [docs[0]!.document_id, 'agent:a1', 0, 1, 'pending'],
        [docs[1]!.document_id, 'agent:a1', 0, 2, 'pending'],
      ],
    );
    assert.ok(read.every((c) => Number.isFinite(c.updatedAt)));
  });
}
