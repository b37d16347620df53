import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { version as uuidVersion } from 'uuid';
import { startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { seedAgents } from '../support/seed-agents.js';

/**
 * Jobs end to end on a real courier (SQLite file, admin socket, management API), driven round by round
 * on a simulated clock: the test moves time and asks for a round, as the node's timer would each second.
 */

/** A clock the test moves. */
class TestClock {
  constructor(public t = Date.parse('2026-12-07T10:00:00Z')) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

/** Far beyond any test: rounds come only when the test asks for them. */
const NO_TIMER = 3_600_000;

interface JobBody {
  job_id: string;
  status: string;
  steps: { action: string; counts: Record<string, number> }[];
  finished: number;
  succeeded: number;
  rate_per_minute: number | null;
  next_window_at: string | null;
  abort_reason: string | null;
}
interface Listed {
  document_id: string;
  agent: { id: string };
  status: string;
  step?: number;
  attempt?: number;
  job_id?: string;
}

async function startWith(agents: number, groups: string[] = ['fleet']) {
  const dataDir = tempDir();
  await seedAgents(
    dataDir,
    Array.from({ length: agents }, (_, i) => `a${String(i).padStart(4, '0')}`),
    groups,
  );
  const clock = new TestClock();
  const h = await startHarness({}, dataDir, { clock, jobTickMs: NO_TIMER });
  return { h, clock };
}

async function createJob(h: Harness, body: object): Promise<string> {
  const res = await h.admin('POST', '/api/v1/jobs', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return (res.body as { job_id: string }).job_id;
}

async function job(h: Harness, id: string): Promise<JobBody> {
  const res = await h.admin('GET', `/api/v1/jobs/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as JobBody;
}

/** Every command the job made, oldest first. */
async function commandsOf(h: Harness, id: string): Promise<Listed[]> {
  const all: Listed[] = [];
  let cursor: string | null = null;
  do {
    const res = await h.admin('GET', `/api/v1/commands?request_id=${id}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = res.body as { items: Listed[]; next: string | null };
    all.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return all.reverse();
}

/** Reports a result for each command, as its target would (code 0: success). */
async function report(h: Harness, ids: string[], code: (id: string) => number) {
  if (ids.length === 0) return;
  const res = await h.admin('POST', '/api/v1/commands/results', { results: ids.map((id) => ({ document_id: id, code: code(id), message: code(id) === 0 ? 'ok' : 'failed' })) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

const restart = { action: { name: 'restart', args: {}, version: '5.0.0' }, timeout: 86_400 };

describe('a job at a constant rate', () => {
  let h: Harness;
  let clock: TestClock;
  before(async () => ({ h, clock } = await startWith(300)));
  after(() => h.stop());

  test('60 per minute over 300 agents sends 60±2 in the first minute and 120±2 by the second, each command naming its job and step', async () => {
    const id = await createJob(h, { name: 'slow', targets: { groups: ['fleet'] }, steps: [restart], rollout: { max_per_minute: 60 } });
    // Time-ordered: its commands' ids begin with it, and land at the end of the store's index of ids.
    assert.equal(uuidVersion(id), 7);
    for (let second = 1; second <= 60; second++) {
      clock.advance(1000);
      await h.courier.jobs.tickAll();
    }
    const first = (await commandsOf(h, id)).length;
    assert.ok(Math.abs(first - 60) <= 2, `${first} commands in the first minute`);
    for (let second = 1; second <= 60; second++) {
      clock.advance(1000);
      await h.courier.jobs.tickAll();
    }
    const commands = await commandsOf(h, id);
    assert.ok(Math.abs(commands.length - 120) <= 2, `${commands.length} commands after two minutes`);
    assert.equal(new Set(commands.map((c) => c.agent.id)).size, commands.length, 'one command per target');
    assert.deepEqual([commands[0]!.job_id, commands[0]!.step, commands[0]!.attempt], [id, 0, 1]);
    const view = await job(h, id);
    assert.equal(view.status, 'rolling_out');
    assert.equal(view.rate_per_minute, 60);
    assert.equal(view.steps[0]!.counts.pending, commands.length);
    assert.equal(view.steps[0]!.counts.not_started, 300 - commands.length);
  });

  test('an exponential rate grows by its factor each time the given number of targets were notified', async () => {
    const id = await createJob(h, {
      name: 'exp',
      targets: { groups: ['fleet'] },
      steps: [restart],
      rollout: { exponential: { base_per_minute: 60, factor: 2, increase_after: { notified: 30 }, max_per_minute: 240 } },
    });
    const rates: number[] = [];
    for (let second = 1; second <= 60; second++) {
      clock.advance(1000);
      await h.courier.jobs.tickAll();
      rates.push((await job(h, id)).rate_per_minute!);
    }
    // 60/min until 30 notified (~30 s), then 120/min until 60, then 240/min (the cap): never above it.
    assert.equal(rates[0], 60);
    assert.ok(rates.includes(120) && rates.includes(240), `rates seen: ${[...new Set(rates)].join(', ')}`);
    assert.ok(
      rates.every((r, i) => i === 0 || r >= rates[i - 1]!),
      'the rate never falls',
    );
    assert.ok(Math.max(...rates) === 240);
  });
});

describe('a canary, then approval', () => {
  let h: Harness;
  before(async () => ({ h } = await startWith(20)));
  after(() => h.stop());

  test('the canary goes out alone, the job waits for approval once it finished, and approving sends the rest', async () => {
    const id = await createJob(h, { name: 'canary', targets: { groups: ['fleet'] }, steps: [restart], canary: { targets: 5, then: 'approve' } });
    assert.equal((await job(h, id)).status, 'canary');
    const canary = await commandsOf(h, id);
    assert.equal(canary.length, 5);
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).length, 5, 'nothing beyond the canary before it finished');
    await report(
      h,
      canary.map((c) => c.document_id),
      () => 0,
    );
    await h.courier.jobs.tickAll();
    assert.equal((await job(h, id)).status, 'awaiting_approval');
    assert.equal((await commandsOf(h, id)).length, 5, 'nothing beyond the canary before approval');
    const approved = await h.admin('POST', `/api/v1/jobs/${id}/approve`);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal((approved.body as { status: string }).status, 'rolling_out');
    assert.equal((await commandsOf(h, id)).length, 20);
    const again = await h.admin('POST', `/api/v1/jobs/${id}/approve`);
    assert.equal(again.status, 409);
    assert.equal((again.body as { code: string }).code, 'COURIER_ERR_JOB_NOT_CONTROLLABLE');
  });

  test('an automatic canary below its success rate waits for an operator; above it, the rollout goes on by itself', async () => {
    const below = await createJob(h, { name: 'auto-low', targets: { groups: ['fleet'] }, steps: [restart], canary: { targets: 4, then: { auto_at_success_percent: 75 } } });
    const low = await commandsOf(h, below);
    await report(
      h,
      low.map((c) => c.document_id),
      (docId) => (docId === low[0]!.document_id || docId === low[1]!.document_id ? 1 : 0),
    );
    await h.courier.jobs.tickAll();
    assert.equal((await job(h, below)).status, 'awaiting_approval');

    const above = await createJob(h, { name: 'auto-high', targets: { groups: ['fleet'] }, steps: [restart], canary: { percent: 20, then: { auto_at_success_percent: 75 } } });
    const high = await commandsOf(h, above);
    assert.equal(high.length, 4, '20 % of 20 agents');
    await report(
      h,
      high.map((c) => c.document_id),
      (docId) => (docId === high[0]!.document_id ? 1 : 0),
    );
    await h.courier.jobs.tickAll();
    assert.equal((await job(h, above)).status, 'rolling_out');
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, above)).length, 20);
  });
});

describe('abort criteria', () => {
  let h: Harness;
  let clock: TestClock;
  before(async () => ({ h, clock } = await startWith(100)));
  after(() => h.stop());

  test('at 20 % failures once 10 finished, the job aborts and cancels what was not delivered', async () => {
    const id = await createJob(h, {
      name: 'abort',
      targets: { groups: ['fleet'] },
      steps: [restart],
      rollout: { max_per_minute: 1200 },
      abort: [{ on: 'failure', threshold_percent: 20, min_finished: 10 }],
    });
    for (let second = 1; second <= 2; second++) {
      clock.advance(1000);
      await h.courier.jobs.tickAll();
    }
    const sent = await commandsOf(h, id);
    assert.ok(sent.length >= 20 && sent.length < 100, `${sent.length} went out`);
    // 9 finished, 3 failed (33 %): under the minimum, no abort.
    await report(
      h,
      sent.slice(0, 9).map((c) => c.document_id),
      (docId) => (sent.slice(0, 3).some((c) => c.document_id === docId) ? 1 : 0),
    );
    await h.courier.jobs.tickAll();
    assert.notEqual((await job(h, id)).status, 'aborted');
    await report(h, [sent[9]!.document_id], () => 0);
    clock.advance(1000);
    await h.courier.jobs.tickAll();
    const view = await job(h, id);
    assert.equal(view.status, 'aborted');
    assert.match(view.abort_reason!, /3 of 10 finished targets \(30 %\) ended failure/);
    const after = await commandsOf(h, id);
    const pending = after.filter((c) => c.status === 'pending');
    assert.equal(pending.length, 0, 'nothing left pending');
    assert.equal(after.filter((c) => c.status === 'cancelled').length, after.length - 10);
    // Nothing more goes out.
    clock.advance(60_000);
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).length, after.length);
    // Its transitions are in the audit trail.
    const audit = await h.admin('GET', `/api/v1/audit?kind=job&limit=1000`);
    const trail = (audit.body as { items: { job_id?: string; from: string | null; to: string; cause: string }[] }).items.filter((e) => e.job_id === id);
    assert.deepEqual(
      trail.map((e) => [e.from, e.to, e.cause]),
      [
        [null, 'scheduled', 'created'],
        ['scheduled', 'rolling_out', 'started'],
        ['rolling_out', 'aborted', 'aborted'],
      ],
    );
  });
});

describe('steps in sequence', () => {
  let h: Harness;
  before(async () => ({ h } = await startWith(10)));
  after(() => h.stop());

  const steps = ['fetch-config', 'update', 'restart'].map((name) => ({ action: { name, args: {}, version: '5.0.0' }, timeout: 86_400 }));

  test('per target: step 2 failing on some agents never sends them step 3; the others get every step', async () => {
    const id = await createJob(h, { name: 'three', targets: { groups: ['fleet'] }, steps });
    const first = await commandsOf(h, id);
    assert.equal(first.length, 10);
    assert.ok(first.every((c) => c.step === 0));
    await report(
      h,
      first.map((c) => c.document_id),
      () => 0,
    );
    await h.courier.jobs.tickAll();
    const second = (await commandsOf(h, id)).filter((c) => c.step === 1);
    assert.equal(second.length, 10);
    const failing = new Set(second.slice(0, 3).map((c) => c.agent.id));
    await report(
      h,
      second.map((c) => c.document_id),
      (docId) => (second.slice(0, 3).some((c) => c.document_id === docId) ? 2 : 0),
    );
    await h.courier.jobs.tickAll();
    const third = (await commandsOf(h, id)).filter((c) => c.step === 2);
    assert.equal(third.length, 7);
    assert.ok(
      third.every((c) => !failing.has(c.agent.id)),
      'no step 3 for an agent whose step 2 failed',
    );
    await report(
      h,
      third.map((c) => c.document_id),
      () => 0,
    );
    await h.courier.jobs.tickAll();
    const view = await job(h, id);
    assert.equal(view.status, 'completed');
    assert.deepEqual([view.finished, view.succeeded], [10, 7]);
    assert.deepEqual(view.steps[2]!.counts.not_started, 3);
  });

  test('a barrier holds step 2 until step 1 finished on every target', async () => {
    const id = await createJob(h, { name: 'barrier', targets: { groups: ['fleet'] }, steps: steps.slice(0, 2), sequence: 'barrier' });
    const first = await commandsOf(h, id);
    await report(
      h,
      first.slice(0, 9).map((c) => c.document_id),
      () => 0,
    );
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).filter((c) => c.step === 1).length, 0, 'one target still on step 1');
    await report(h, [first[9]!.document_id], () => 0);
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).filter((c) => c.step === 1).length, 10);
  });

  test('a retry rule sends a failed step again, up to its attempts', async () => {
    const id = await createJob(h, { name: 'retry', targets: { agents: ['a0000'] }, steps: steps.slice(0, 1), retries: [{ on: 'failure', max_attempts: 3 }] });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const commands = await commandsOf(h, id);
      assert.equal(commands.length, attempt);
      assert.equal(commands[attempt - 1]!.attempt, attempt);
      await report(h, [commands[attempt - 1]!.document_id], () => 1);
      await h.courier.jobs.tickAll();
    }
    assert.equal((await commandsOf(h, id)).length, 3);
    const view = await job(h, id);
    assert.equal(view.status, 'completed');
    assert.deepEqual([view.finished, view.succeeded], [1, 0]);
  });
});

describe('schedule and operators', () => {
  let h: Harness;
  let clock: TestClock;
  before(async () => ({ h, clock } = await startWith(10)));
  after(() => h.stop());

  test('a job waits for its start time, pauses and resumes; cancelling cancels what was not delivered', async () => {
    const start = new Date(clock.now() + 60_000).toISOString();
    const id = await createJob(h, { name: 'later', targets: { groups: ['fleet'] }, steps: [restart], schedule: { start_at: start }, rollout: { max_per_minute: 60 } });
    assert.equal((await job(h, id)).status, 'scheduled');
    clock.advance(30_000);
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).length, 0);
    clock.advance(30_000);
    await h.courier.jobs.tickAll();
    assert.equal((await job(h, id)).status, 'rolling_out');
    const paused = await h.admin('POST', `/api/v1/jobs/${id}/pause`);
    assert.equal((paused.body as { status: string }).status, 'paused');
    const before = (await commandsOf(h, id)).length;
    clock.advance(10_000);
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).length, before, 'nothing goes out while paused');
    const resumed = await h.admin('POST', `/api/v1/jobs/${id}/resume`);
    assert.equal((resumed.body as { status: string }).status, 'rolling_out');
    const cancelled = await h.admin('POST', `/api/v1/jobs/${id}/cancel`);
    assert.equal((cancelled.body as { status: string }).status, 'cancelled');
    const commands = await commandsOf(h, id);
    assert.ok(commands.length > 0 && commands.every((c) => c.status === 'cancelled'));
    const list = await h.admin('GET', '/api/v1/jobs?status=cancelled');
    assert.ok((list.body as { jobs: { job_id: string }[] }).jobs.some((j) => j.job_id === id));
    // A page size in the query string (a string, as every query value is), and the cursor to the next page.
    const first = (await h.admin('GET', '/api/v1/jobs?limit=1')).body as { jobs: { job_id: string }[]; next: string | null };
    assert.equal(first.jobs.length, 1, JSON.stringify(first));
    assert.ok(first.next);
    const second = (await h.admin('GET', `/api/v1/jobs?limit=1&cursor=${encodeURIComponent(first.next)}`)).body as { jobs: { job_id: string }[] };
    assert.notEqual(second.jobs[0]?.job_id, first.jobs[0]!.job_id);
    assert.equal((await h.admin('GET', '/api/v1/jobs?limit=0')).status, 400);
  });

  test('a maintenance window holds commands until it opens, and the job waits again when it closes', async () => {
    // Windows open at minute 0 of every hour for 10 minutes; the clock is at 10:00:00 + 2 min, inside one... moved past it first.
    clock.t = Date.parse('2026-12-07T11:30:00Z');
    const id = await createJob(h, {
      name: 'window',
      targets: { groups: ['fleet'] },
      steps: [restart],
      rollout: { max_per_minute: 60 },
      schedule: { maintenance_windows: [{ cron: '0 * * * *', duration: '10m', time_zone: 'UTC' }] },
    });
    let view = await job(h, id);
    assert.equal(view.status, 'waiting_window');
    assert.equal(view.next_window_at, '2026-12-07T12:00:00.000Z');
    clock.t = Date.parse('2026-12-07T11:59:59Z');
    await h.courier.jobs.tickAll();
    assert.equal((await commandsOf(h, id)).length, 0);
    clock.t = Date.parse('2026-12-07T12:00:00Z');
    await h.courier.jobs.tickAll();
    view = await job(h, id);
    assert.equal(view.status, 'rolling_out');
    assert.equal((await commandsOf(h, id)).length, 1);
    clock.t = Date.parse('2026-12-07T12:10:00Z');
    await h.courier.jobs.tickAll();
    assert.equal((await job(h, id)).status, 'waiting_window');
  });
});

describe('a continuous job', () => {
  let h: Harness;
  let clock: TestClock;
  before(async () => ({ h, clock } = await startWith(3)));
  after(() => h.stop());

  test('reaches agents that join its group later, and never completes by itself; cancelling ends it', async () => {
    const id = await createJob(h, { name: 'always', targets: { groups: ['fleet'] }, continuous: true, steps: [restart] });
    const first = await commandsOf(h, id);
    assert.equal(first.length, 3);
    await report(
      h,
      first.map((c) => c.document_id),
      () => 0,
    );
    await h.addAgent('late-joiner', ['fleet']);
    // Groups are read again every 10 s.
    clock.advance(10_000);
    await h.courier.jobs.tickAll();
    const all = await commandsOf(h, id);
    assert.deepEqual(
      all.map((c) => c.agent.id).filter((a) => a === 'late-joiner'),
      ['late-joiner'],
    );
    await report(h, [all.find((c) => c.agent.id === 'late-joiner')!.document_id], () => 0);
    clock.advance(1000);
    await h.courier.jobs.tickAll();
    const view = await job(h, id);
    assert.deepEqual([view.status, view.finished, view.succeeded], ['rolling_out', 4, 4]);
    assert.equal((await h.admin('POST', `/api/v1/jobs/${id}/cancel`)).status, 200);
  });
});

describe('bad jobs', () => {
  let h: Harness;
  before(async () => ({ h } = await startWith(3)));
  after(() => h.stop());

  const valid = { name: 'x', targets: { groups: ['fleet'] }, steps: [restart] };
  const cases: [string, object, RegExp][] = [
    ['an invalid cron', { schedule: { maintenance_windows: [{ cron: '61 * * * *', duration: '1h', time_zone: 'UTC' }] } }, /maintenance_windows\.0\.cron/],
    ['an unknown time zone', { schedule: { maintenance_windows: [{ cron: '0 * * * *', duration: '1h', time_zone: 'Mars/Olympus' }] } }, /maintenance_windows\.0\.time_zone/],
    ['end_at before start_at', { schedule: { start_at: '2030-01-02T00:00:00Z', end_at: '2030-01-01T00:00:00Z' } }, /schedule\.end_at must be after/],
    ['a rate of 0', { rollout: { max_per_minute: 0 } }, /max_per_minute/],
    ['a threshold over 100', { abort: [{ on: 'failure', threshold_percent: 120, min_finished: 1 }] }, /threshold_percent/],
    ['an unknown step action', { steps: [{ action: { name: 'format-disk', args: {} }, timeout: 10 }] }, /steps\.0\.action\.name: unknown action/],
    ['no targets', { targets: {} }, /body\.targets must name/],
    ['more than 10 attempts', { retries: [{ on: 'failure', max_attempts: 11 }] }, /max_attempts/],
    ['a canary with both targets and percent', { canary: { targets: 1, percent: 5, then: 'approve' } }, /canary needs one of/],
    ['a canary of 0 %', { canary: { percent: 0, then: 'approve' } }, /canary\.percent must be above 0/],
    ['an exponential factor of 1', { rollout: { exponential: { base_per_minute: 1, factor: 1, increase_after: { notified: 1 }, max_per_minute: 2 } } }, /factor must be above 1/],
  ];
  for (const [what, change, message] of cases) {
    test(`${what}: 400 naming the field, nothing stored`, async () => {
      const res = await h.admin('POST', '/api/v1/jobs', { ...valid, ...change });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body as { code: string }).code, 'COURIER_ERR_VALIDATION');
      assert.match((res.body as { message: string }).message, message);
      assert.deepEqual((await h.admin('GET', '/api/v1/jobs')).body, { jobs: [], next: null });
    });
  }

  test('an unknown agent, an empty group, more targets than allowed: refused with their own codes', async () => {
    const unknown = await h.admin('POST', '/api/v1/jobs', { ...valid, targets: { agents: ['nobody'] } });
    assert.equal((unknown.body as { code: string }).code, 'COURIER_ERR_UNKNOWN_AGENT');
    const empty = await h.admin('POST', '/api/v1/jobs', { ...valid, targets: { groups: ['nobody'] } });
    assert.equal((empty.body as { code: string }).code, 'COURIER_ERR_EMPTY_GROUP');
    const missing = await h.admin('GET', '/api/v1/jobs/does-not-exist');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { code: string }).code, 'COURIER_ERR_JOB_NOT_FOUND');
    assert.deepEqual((await h.admin('GET', '/api/v1/jobs')).body, { jobs: [], next: null });
  });

  test('a scoped key cannot create a job beyond its scope, nor see or cancel one outside it', async () => {
    await h.addAgent('win-1', ['windows']);
    const linux = await h.createKey('operator', ['group:fleet']);
    const refused = await h.mgmt('POST', '/api/v1/jobs', { key: linux, body: { ...valid, targets: { groups: ['fleet', 'windows'] } } });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_OUT_OF_SCOPE');
    const own = await h.mgmt('POST', '/api/v1/jobs', { key: linux, body: { ...valid, canary: { targets: 1, then: 'approve' } } });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const other = await createJob(h, { ...valid, targets: { groups: ['windows'] }, canary: { targets: 1, then: 'approve' } });
    assert.equal((await h.mgmt('GET', `/api/v1/jobs/${other}`, { key: linux })).status, 404);
    assert.equal((await h.mgmt('POST', `/api/v1/jobs/${other}/cancel`, { key: linux })).status, 404);
    const refusals = async () => ((await h.admin('GET', '/api/v1/audit?kind=refusal&limit=1000')).body as { items: unknown[] }).items.length;
    const refusedBefore = await refusals();
    const listed = (await h.mgmt('GET', '/api/v1/jobs', { key: linux })).body as { jobs: { job_id: string }[] };
    assert.deepEqual(
      listed.jobs.map((j) => j.job_id),
      [(own.body as { job_id: string }).job_id],
    );
    // Leaving a job out of a list is no refusal: nothing is audited for it.
    assert.equal(await refusals(), refusedBefore);
    const auditor = await h.createKey('auditor');
    assert.equal((await h.mgmt('POST', `/api/v1/jobs/${other}/cancel`, { key: auditor })).status, 403);
    assert.equal((await h.mgmt('GET', `/api/v1/jobs/${other}`, { key: auditor })).status, 200);
  });
});
