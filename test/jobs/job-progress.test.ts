import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandStatus } from '../../src/domain/command.js';
import type { JobCommand, JobSpec } from '../../src/domain/job.js';
import { readJob } from '../../src/jobs/job-progress.js';
import { windowState, windowProblem } from '../../src/jobs/maintenance-windows.js';
import { ratePerMinute, ReleaseBudget } from '../../src/jobs/rollout-rate.js';

const step = { action: { name: 'restart', args: {}, version: '' }, timeout: 60 };
const spec = (extra: Partial<JobSpec> = {}): JobSpec => ({ name: 'j', targets: { groups: ['g'] }, steps: [step, step], ...extra });
let n = 0;
const cmd = (route: string, stepIndex: number, status: CommandStatus, attempt = 1, updatedAt = 0): JobCommand => ({
  document_id: `d${n++}`,
  route,
  step: stepIndex,
  attempt,
  status,
  updatedAt,
});

describe('reading a job from its commands', () => {
  test('per target: a target moves to its next step once the previous succeeded; a failure ends its run', () => {
    const r = readJob(spec(), ['a', 'b', 'c', 'd'], [cmd('a', 0, 'success'), cmd('b', 0, 'failure'), cmd('c', 0, 'sent')], 0, 0);
    assert.deepEqual(r.followUps, [{ route: 'a', step: 1, attempt: 1 }]);
    assert.deepEqual(r.notStarted, ['d']);
    assert.deepEqual([r.progress.finished, r.progress.failed, r.notified], [1, 1, 3]);
    assert.equal(r.steps[0]!.success, 1);
    assert.equal(r.steps[0]!.not_started, 1);
    assert.equal(r.steps[1]!.not_started, 4);
  });

  test('a target that left the job (an agent removed) is not counted, though its commands remain', () => {
    const r = readJob(spec(), ['a'], [cmd('a', 0, 'pending'), cmd('gone', 0, 'success')], 0, 0);
    assert.deepEqual([r.steps[0]!.pending, r.steps[0]!.success, r.steps[0]!.not_started, r.notified], [1, 0, 0, 1]);
  });

  test('only the latest attempt of a step counts; a retry waits for its backoff', () => {
    const s = spec({ steps: [step], retries: [{ on: 'timed_out', max_attempts: 2, backoff: '30s' }] });
    const early = readJob(s, ['a'], [cmd('a', 0, 'timed_out', 1, 1000)], 0, 20_000);
    assert.deepEqual([early.followUps, early.nextRetryAt, early.progress.finished], [[], 31_000, 0]);
    const due = readJob(s, ['a'], [cmd('a', 0, 'timed_out', 1, 1000)], 0, 31_000);
    assert.deepEqual(due.followUps, [{ route: 'a', step: 0, attempt: 2 }]);
    const last = readJob(s, ['a'], [cmd('a', 0, 'timed_out', 1), cmd('a', 0, 'timed_out', 2)], 0, 99_000);
    assert.deepEqual([last.followUps, last.progress.finished, last.progress.timedOut, last.steps[0]!.timed_out], [[], 1, 1, 1]);
    // A failure is not a time-out: no rule, no retry.
    assert.equal(readJob(s, ['a'], [cmd('a', 0, 'failure')], 0, 99_000).progress.failed, 1);
  });

  test('a barrier holds the next step while any target is on an earlier one, retries included', () => {
    const s = spec({ sequence: 'barrier', retries: [{ on: 'failure', max_attempts: 2 }] });
    const held = readJob(s, ['a', 'b'], [cmd('a', 0, 'success'), cmd('b', 0, 'failure')], 0, 0);
    assert.deepEqual(held.followUps, [{ route: 'b', step: 0, attempt: 2 }]);
    const free = readJob(s, ['a', 'b'], [cmd('a', 0, 'success'), cmd('b', 0, 'failure'), cmd('b', 0, 'failure', 2)], 0, 0);
    assert.deepEqual(free.followUps, [{ route: 'a', step: 1, attempt: 1 }]);
  });

  test('the canary is the first targets; done means every target finished (never for a continuous job)', () => {
    const commands = ['a', 'b', 'c'].flatMap((r) => [cmd(r, 0, 'success'), cmd(r, 1, r === 'b' ? 'failure' : 'success')]);
    const r = readJob(spec(), ['a', 'b', 'c'], commands, 2, 0);
    assert.deepEqual(r.progress, { finished: 3, succeeded: 2, failed: 1, timedOut: 0, canaryFinished: 2, canarySucceeded: 1, done: true });
    assert.equal(readJob(spec({ continuous: true }), ['a', 'b', 'c'], commands, 0, 0).progress.done, false);
  });
});

describe('rollout rate', () => {
  test('constant, none, and exponential by notified or succeeded targets, capped', () => {
    const reached = (notified: number, succeeded: number) => ({ notified, progress: { ...readJob(spec(), [], [], 0, 0).progress, succeeded } });
    assert.equal(ratePerMinute(undefined, reached(0, 0)), null);
    assert.equal(ratePerMinute({ max_per_minute: 60 }, reached(500, 0)), 60);
    const exp = { exponential: { base_per_minute: 10, factor: 2, increase_after: { succeeded: 50 }, max_per_minute: 70 } };
    assert.deepEqual(
      [0, 49, 50, 100, 150, 1000].map((succeeded) => ratePerMinute(exp, reached(0, succeeded))),
      [10, 10, 20, 40, 70, 70],
    );
  });
  test('the budget fills at the rate, holds one second at most, and does not fill while held', () => {
    const budget = new ReleaseBudget();
    assert.equal(budget.available(0, 60), 1);
    budget.spend(1);
    assert.equal(budget.available(500, 60), 0);
    assert.equal(budget.available(1000, 60), 1);
    budget.spend(1);
    assert.equal(budget.available(60_000, 600), 10, 'one second of 600/min, not a minute saved up');
    budget.hold();
    assert.equal(budget.available(120_000, 600), 1, 'after a hold it starts again from one');
    assert.equal(budget.available(0, null), Infinity);
  });
});

describe('maintenance windows', () => {
  const daily = { cron: '0 22 * * *', duration: '2h', time_zone: 'Europe/Paris' };
  test('open from each opening for its duration, in its time zone; when it changes next', () => {
    // 22:00 in Paris is 21:00 UTC in December.
    assert.deepEqual(windowState([daily], Date.parse('2026-12-07T20:59:59Z')), { open: false, changesAt: Date.parse('2026-12-07T21:00:00Z') });
    assert.deepEqual(windowState([daily], Date.parse('2026-12-07T21:00:00Z')), { open: true, changesAt: Date.parse('2026-12-07T23:00:00Z') });
    assert.deepEqual(windowState([daily], Date.parse('2026-12-07T23:00:00Z')), { open: false, changesAt: Date.parse('2026-12-08T21:00:00Z') });
  });
  test('a bad window is named by its field', () => {
    assert.match(windowProblem({ ...daily, cron: '0 25 * * *' }, 'w')!, /^w\.cron is not a cron expression/);
    assert.match(windowProblem({ ...daily, cron: '0 0 22 * * *' }, 'w')!, /^w\.cron must have five fields/);
    assert.match(windowProblem({ ...daily, duration: '2 hours' }, 'w')!, /^w\.duration/);
    assert.match(windowProblem({ ...daily, time_zone: 'Nowhere/Else' }, 'w')!, /^w\.time_zone/);
    assert.equal(windowProblem(daily, 'w'), null);
  });
});
