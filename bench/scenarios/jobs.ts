import { wallNow } from '../clock.js';
import type { CourierNode } from '../courier-node.js';
import { median, round } from '../stats.js';
import { arrivalRatePerMinute } from '../release-rate.js';
import type { BenchContext } from './context.js';
import { fanout, waitCompleted } from './phases.js';

/** A job that sends one step to every member of `group` at no rate limit; resolves to the time until the last agent received it. */
async function jobFanout(ctx: BenchContext, courier: CourierNode, group: string, members: number, tag: string): Promise<number> {
  const base = (await ctx.fleet.counters()).completed;
  const res = await courier.admin('POST', '/api/v1/jobs', {
    name: tag,
    targets: { groups: [group] },
    steps: [{ action: { name: 'restart', args: { tag, sent_at: wallNow() } }, timeout: 3600 }],
  });
  if (res.status !== 201) throw new Error(`POST /api/v1/jobs: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  const samples = await ctx.fleet.latencies(tag, members, 120_000);
  await waitCompleted(ctx.fleet, base, members, 120_000);
  return Math.max(...samples);
}

/**
 * Jobs on connected WebSocket agents. The overhead of a job over a plain group fan-out to the same
 * agents (a job at no rate limit against `POST /api/v1/commands` to the group, alternating, in the same
 * run), and how closely a job keeps its rate (6,000 a minute over the fleet, counted by the agents).
 */
export async function runJobs(ctx: BenchContext, courier: CourierNode, group: string, members: number): Promise<void> {
  const { plan, note, results } = ctx;
  const plain: number[] = [];
  const jobs: number[] = [];
  for (let run = 0; run < plan.fanoutRuns; run++) {
    plain.push(await fanout(ctx, courier, group, members, `job-baseline-${run}`));
    jobs.push(await jobFanout(ctx, courier, group, members, `job-fanout-${run}`));
  }
  results.job_dispatch_overhead_pct = round(((median(jobs) - median(plain)) / median(plain)) * 100, 1);
  note(
    `jobs: to ${members} agents, until the last received it — a job at no rate limit ${jobs.map((f) => round(f, 1)).join(', ')} ms, ` +
      `a plain group fan-out ${plain.map((f) => round(f, 1)).join(', ')} ms: the job ${results.job_dispatch_overhead_pct} % over`,
  );

  // The rate: 6,000 a minute is 100 new agents a second, timed by the agents' receipts.
  const perMinute = 6000;
  const res = await courier.admin('POST', '/api/v1/jobs', {
    name: 'job-rate',
    targets: { groups: [group] },
    steps: [{ action: { name: 'restart', args: { tag: 'job-rate', sent_at: wallNow() } }, timeout: 3600 }],
    rollout: { max_per_minute: perMinute },
  });
  if (res.status !== 201) throw new Error(`POST /api/v1/jobs: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  const id = (res.body as { job_id: string }).job_id;
  // Once the first seconds passed, over half of the time the job takes (30 s at most).
  const jobMs = (members / perMinute) * 60_000;
  const skipMs = Math.min(3000, jobMs / 10);
  const windowMs = Math.min(30_000, jobMs / 2);
  // The arrivals of the skipped seconds and of the window, and of the round that closes it.
  const wanted = Math.min(members, Math.ceil((perMinute / 60_000) * (skipMs + windowMs + 2000)));
  const arrived = await ctx.fleet.arrivals('job-rate', wanted, skipMs + windowMs + 60_000);
  await courier.admin('POST', `/api/v1/jobs/${id}/cancel`);
  const measuredPerMinute = arrivalRatePerMinute(
    arrived.map((a) => a.at),
    skipMs,
    windowMs,
  );
  results.job_rate_error_pct = round((Math.abs(measuredPerMinute - perMinute) / perMinute) * 100, 2);
  note(
    `jobs: a job at ${perMinute}/min over ${members} agents delivered ${Math.round(measuredPerMinute)}/min over ${round(windowMs / 1000, 1)} s (error ${results.job_rate_error_pct} %)`,
  );
}
