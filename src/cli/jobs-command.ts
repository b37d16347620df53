import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { FINAL_JOB_STATUSES, type JobStatus } from '../domain/job.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { printJson, shortTime, table } from './format.js';
import { badUsage, MAX_TIMEOUT_S, wholeNumber } from './usage.js';

const VERBS = ['create', 'list', 'show', 'pause', 'resume', 'approve', 'cancel'] as const;

const HELP = `Usage: courier jobs <subcommand> [options]
  create --file <job.json>        a job as docs/jobs.md describes it ('-' reads it from stdin); or, for the
                                  common case, from flags:
  create --name <n> (--group <g> | --agent <id> | --server <m>)... --action <a>... [--timeout <s>]
         [--rate <per minute>] [--canary <n>] [--continuous]
                                  each --action is a step, in order (per target, the next after the previous
                                  succeeded); --canary n: the first n targets, then an operator's approve
  list [--status <s,…>]           jobs, newest first
  show <job_id> [--watch | --wait]  where it stands: counts per status per step, rate, next window;
                                  --watch redraws it until it ends (bars per step); --wait waits for the end
                                  and exits 0 when every target succeeded, else 3 (a failure), 4 (a timeout),
                                  5 (cancelled, ended or aborted with nothing failed)
  pause | resume | approve | cancel <job_id>

${CONNECTION_HELP}`;

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

/** A job from the flags of `jobs create` (the common case: one rollout of a few steps). */
function jobFromFlags(values: Record<string, string | string[] | boolean | undefined>): object | string {
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const actions = list('action');
  if (!values.name) return '--name';
  if (actions.length === 0) return '--action (one per step)';
  if (list('group').length + list('agent').length + list('server').length === 0) return 'a target: --group, --agent or --server';
  const text = (name: string) => values[name] as string | undefined;
  const timeout = wholeNumber(text('timeout') ?? '3600', 1, MAX_TIMEOUT_S);
  if (timeout === null) return `--timeout as a whole number of seconds from 1 to ${MAX_TIMEOUT_S} (not "${text('timeout')}")`;
  const rate = text('rate') === undefined ? undefined : wholeNumber(text('rate')!, 1);
  if (rate === null) return `--rate as a whole number of targets per minute, at least 1 (not "${text('rate')}")`;
  const canary = text('canary') === undefined ? undefined : wholeNumber(text('canary')!, 1);
  if (canary === null) return `--canary as a whole number of targets, at least 1 (not "${text('canary')}")`;
  return {
    name: values.name,
    targets: {
      ...(list('agent').length ? { agents: list('agent') } : {}),
      ...(list('group').length ? { groups: list('group') } : {}),
      ...(list('server').length ? { servers: list('server') } : {}),
    },
    ...(values.continuous ? { continuous: true } : {}),
    steps: actions.map((name) => ({ action: { name, args: {} }, timeout })),
    ...(rate !== undefined ? { rollout: { max_per_minute: rate } } : {}),
    ...(canary !== undefined ? { canary: { targets: canary, then: 'approve' } } : {}),
  };
}

export async function runJobs(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      file: { type: 'string' },
      name: { type: 'string' },
      group: { type: 'string', multiple: true },
      agent: { type: 'string', multiple: true },
      server: { type: 'string', multiple: true },
      action: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      rate: { type: 'string' },
      canary: { type: 'string' },
      continuous: { type: 'boolean' },
      status: { type: 'string' },
      watch: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  const [verb, id] = positionals;
  const known = verb !== undefined && (VERBS as readonly string[]).includes(verb);
  if (!known || (verb !== 'create' && verb !== 'list' && !id)) return badUsage('jobs', verb, VERBS, HELP);
  const connection = Connection.from(values);

  if (verb === 'create') {
    let body: unknown;
    if (values.file !== undefined) {
      try {
        body = JSON.parse(readFileSync(values.file === '-' ? 0 : values.file, 'utf8'));
      } catch (error) {
        console.error(`courier jobs create: --file ${values.file} is not a readable JSON job: ${(error as Error).message}`);
        return EXIT.USAGE;
      }
    } else {
      const job = jobFromFlags(values);
      if (typeof job === 'string') {
        console.error(`courier jobs create: give ${job} (or --file <job.json>)\n\n${HELP}`);
        return EXIT.USAGE;
      }
      body = job;
    }
    const created = await connection.ok<{ job_id: string; status: string }>('POST', '/api/v1/jobs', body);
    if (values.json) printJson(created);
    else console.log(`job ${created.job_id}: ${created.status}\nfollow it: courier jobs show ${created.job_id} --watch`);
    return EXIT.OK;
  }
  if (verb === 'list') {
    const query = new URLSearchParams(values.status ? { status: values.status } : {});
    const page = await connection.ok<{ jobs: JobSummary[]; next: string | null }>('GET', `/api/v1/jobs?${query}`);
    if (values.json) printJson(page);
    else
      console.log(
        table(
          ['job_id', 'name', 'status', 'targets', 'created', 'by'],
          page.jobs.map((j) => [j.job_id, j.name, j.status, j.targets, shortTime(j.created_at), j.created_by]),
        ),
      );
    return EXIT.OK;
  }
  const path = `/api/v1/jobs/${encodeURIComponent(id!)}`;
  if (verb === 'show') {
    if (values.watch || values.wait) {
      const job = await follow(connection, path, values.watch && !values.json);
      if (values.json) printJson(job);
      else console.log(jobText(job));
      return values.wait ? jobExitCode(job) : EXIT.OK;
    }
    const job = await connection.ok<JobView>('GET', path);
    if (values.json) printJson(job);
    else console.log(jobText(job));
    return EXIT.OK;
  }
  const answer = await connection.ok<{ job_id: string; status: string }>('POST', `${path}/${verb}`);
  if (values.json) printJson(answer);
  else console.log(`job ${answer.job_id}: ${answer.status}`);
  return EXIT.OK;
}

/** Reads a job every second until it has ended; with `bars`, a progress bar per step meanwhile. */
async function follow(connection: Connection, path: string, bars: boolean): Promise<JobView> {
  const multibar = bars ? new cliProgress.MultiBar({ format: '{step} {bar} {value}/{total} ended | {detail}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  const stepBars: cliProgress.SingleBar[] = [];
  try {
    for (;;) {
      const job = await connection.ok<JobView>('GET', path);
      job.steps.forEach((step, i) => {
        const ended = (step.counts.success ?? 0) + (step.counts.failure ?? 0) + (step.counts.timed_out ?? 0) + (step.counts.cancelled ?? 0);
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
