import { readFileSync } from 'node:fs';
import { Option, type Command } from '@commander-js/extra-typings';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { FINAL_JOB_STATUSES, JOB_STATUSES, type JobStatus } from '../domain/job.js';
import { Connection, withConnectionOptions } from './connection.js';
import { FINAL_STATUSES } from '../domain/command.js';
import { statusListOf } from './filters.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { printJson, shortTime, table } from './format.js';
import { collect, exits, timeoutSeconds, UsageError, wholeNumberOf } from './usage.js';

interface JobView {
  job_id: string;
  name: string;
  status: JobStatus;
  created_at: string;
  targets: number;
  steps: { action: string; counts: Record<string, number> }[];
  finished: number;
  succeeded: number;
  rate_per_minute: number | null;
  next_window_at: string | null;
  abort_reason: string | null;
}
interface JobSummary {
  job_id: string;
  name: string;
  status: JobStatus;
  created_at: string;
  created_by: string;
  targets: number;
}

const STATUS_COLUMNS = ['not_started', 'pending', 'sent', 'delivered', 'success', 'failure', 'timed_out', 'cancelled'];

function jobText(job: JobView): string {
  const head = `job ${job.job_id} "${job.name}": ${job.status} — ${job.finished}/${job.targets} targets finished, ${job.succeeded} succeeded`;
  const rate = `rate: ${job.rate_per_minute === null ? 'no limit' : `${job.rate_per_minute}/min`}${job.next_window_at ? ` · next window ${shortTime(job.next_window_at)}` : ''}`;
  const steps = table(
    ['step', 'action', ...STATUS_COLUMNS],
    job.steps.map((s, i) => [i + 1, s.action, ...STATUS_COLUMNS.map((c) => s.counts[c] ?? 0)]),
  );
  return [head, rate, steps, ...(job.abort_reason ? [`aborted: ${job.abort_reason}`] : [])].join('\n');
}

/** The exit code of an ended job: 0 when every target succeeded, else the worst way a step ended. */
export function jobExitCode(job: Pick<JobView, 'status' | 'steps' | 'targets' | 'succeeded'>): number {
  if (job.status === 'completed' && job.succeeded === job.targets) return EXIT.OK;
  const counts: Record<string, number> = {};
  for (const step of job.steps) for (const [status, n] of Object.entries(step.counts)) counts[status] = (counts[status] ?? 0) + n;
  const code = exitCodeOf(counts);
  return code === EXIT.OK ? EXIT.CANCELLED : code;
}

interface JobFlags {
  name?: string | undefined;
  group: string[];
  agent: string[];
  server: string[];
  action: string[];
  timeout: number;
  rate?: number | undefined;
  canary?: number | undefined;
  continuous?: true | undefined;
}

/** A job from the flags of `jobs create` (the common case: one rollout of a few steps). */
function jobFromFlags(flags: JobFlags): object {
  const missing = !flags.name
    ? '--name'
    : flags.action.length === 0
      ? '--action (one per step)'
      : flags.group.length + flags.agent.length + flags.server.length === 0
        ? 'a target: --group, --agent or --server'
        : null;
  if (missing) throw new UsageError('jobs create', `give ${missing} (or --file <job.json>)`);
  return {
    name: flags.name,
    targets: {
      ...(flags.agent.length ? { agents: flags.agent } : {}),
      ...(flags.group.length ? { groups: flags.group } : {}),
      ...(flags.server.length ? { servers: flags.server } : {}),
    },
    ...(flags.continuous ? { continuous: true } : {}),
    steps: flags.action.map((name) => ({ action: { name, args: {} }, timeout: flags.timeout })),
    ...(flags.rate !== undefined ? { rollout: { max_per_minute: flags.rate } } : {}),
    ...(flags.canary !== undefined ? { canary: { targets: flags.canary, then: 'approve' } } : {}),
  };
}

/** `--file job.json` ('-': stdin): the job as docs/jobs.md describes it. */
function jobFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (error) {
    throw new UsageError('jobs create', `--file ${file} is not a readable JSON job: ${(error as Error).message}`);
  }
}

const jobPath = (id: string) => `/api/v1/jobs/${encodeURIComponent(id)}`;

/** `courier jobs create|list|show|pause|resume|approve|cancel`. */
export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('rollouts: scheduled, at a rate, canary first, multi-step');

  withConnectionOptions(
    jobs
      .command('create')
      .description('a job from a file as docs/jobs.md describes it, or, for the common case, from flags')
      .addOption(new Option('--file <job.json>', "the job as JSON ('-' reads it from stdin)").conflicts(['name', 'action', 'group', 'agent', 'server']))
      .option('--name <name>', "the job's name")
      .option('--group <name>', 'every agent of this group (repeatable)', collect, [] as string[])
      .option('--agent <id>', 'this agent (repeatable)', collect, [] as string[])
      .option('--server <module>', 'this server component (repeatable)', collect, [] as string[])
      .option('--action <name>', 'a step, in order: per target, the next after the previous succeeded (repeatable)', collect, [] as string[])
      .option('--timeout <seconds>', 'seconds each step has to be delivered', timeoutSeconds, 3600)
      .option('--rate <per-minute>', 'most targets started per minute', wholeNumberOf('targets per minute', 1))
      .option('--canary <n>', "the first n targets, then an operator's approve", wholeNumberOf('targets', 1))
      .option('--continuous', 'also agents that join the groups later'),
  ).action(
    exits(async (options) => {
      const body = options.file !== undefined ? jobFile(options.file) : jobFromFlags(options);
      const created = await Connection.from(options).ok<{ job_id: string; status: string }>('POST', '/api/v1/jobs', body);
      if (options.json) printJson(created);
      else console.log(`job ${created.job_id}: ${created.status}\nfollow it: courier jobs show ${created.job_id} --watch`);
      return EXIT.OK;
    }),
  );

  withConnectionOptions(
    jobs
      .command('list')
      .description('jobs, newest first')
      .option('--status <s[,s]>', `only these statuses (${JOB_STATUSES.join(', ')})`, statusListOf(JOB_STATUSES)),
  ).action(
    exits(async (options) => {
      const query = new URLSearchParams(options.status ? { status: options.status } : {});
      const page = await Connection.from(options).ok<{ jobs: JobSummary[]; next: string | null }>('GET', `/api/v1/jobs?${query}`);
      if (options.json) printJson(page);
      else
        console.log(
          table(
            ['job_id', 'name', 'status', 'targets', 'created', 'by'],
            page.jobs.map((j) => [j.job_id, j.name, j.status, j.targets, shortTime(j.created_at), j.created_by]),
          ),
        );
      return EXIT.OK;
    }),
  );

  withConnectionOptions(
    jobs
      .command('show')
      .description('where a job stands: counts per status per step, rate, next window')
      .argument('<job_id>', "the job's id")
      .addOption(new Option('--watch', 'redraw it until it ends (bars per step)').conflicts('wait'))
      .option('--wait', 'wait for its end; exit 0 when every target succeeded, else 3 (a failure), 4 (a timeout), 5 (cancelled, ended or aborted with nothing failed)'),
  ).action(
    exits(async (id, options) => {
      const connection = Connection.from(options);
      const job = options.watch || options.wait ? await follow(connection, jobPath(id), options.watch === true && !options.json) : await connection.ok<JobView>('GET', jobPath(id));
      if (options.json) printJson(job);
      else console.log(jobText(job));
      return options.wait ? jobExitCode(job) : EXIT.OK;
    }),
  );

  const controls = {
    pause: 'hold a job: no new targets start',
    resume: 'go on with a paused job',
    approve: 'go on after the canary',
    cancel: 'end a job: no new targets start, commands not yet delivered are cancelled',
  };
  for (const [verb, describe] of Object.entries(controls)) {
    withConnectionOptions(jobs.command(verb).description(describe).argument('<job_id>', "the job's id")).action(
      exits(async (id, options) => {
        const answer = await Connection.from(options).ok<{ job_id: string; status: string }>('POST', `${jobPath(id)}/${verb}`);
        if (options.json) printJson(answer);
        else console.log(`job ${answer.job_id}: ${answer.status}`);
        return EXIT.OK;
      }),
    );
  }
}

/** Reads a job every second until it has ended; with `bars`, a progress bar per step meanwhile. */
async function follow(connection: Connection, path: string, bars: boolean): Promise<JobView> {
  const multibar = bars ? new cliProgress.MultiBar({ format: '{step} {bar} {value}/{total} ended | {detail}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  const stepBars: cliProgress.SingleBar[] = [];
  try {
    for (;;) {
      const job = await connection.ok<JobView>('GET', path);
      job.steps.forEach((step, i) => {
        let ended = 0;
        for (const status of FINAL_STATUSES) ended += step.counts[status] ?? 0;
        const payload = {
          step: `${i + 1}. ${step.action}`.padEnd(16),
          detail: `${job.status} · ${step.counts.pending ?? 0} pending, ${(step.counts.sent ?? 0) + (step.counts.delivered ?? 0)} under way, ${step.counts.not_started ?? 0} not started`,
        };
        if (!multibar) return;
        if (!stepBars[i]) stepBars[i] = multibar.create(job.targets, ended, payload);
        else stepBars[i].update(ended, payload);
      });
      if (FINAL_JOB_STATUSES.has(job.status)) return job;
      await sleep(1000);
    }
  } finally {
    multibar?.stop();
  }
}
