import type { FastifyRequest } from 'fastify';
import { isJobStatus, type JobRecord, type JobSpec, type JobStatus } from '../domain/job.js';
import { errors } from '../errors.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses, NoQuery } from '../http/schemas.js';
import { toJobSpec } from '../jobs/job-spec.js';
import type { JobControl, JobDetail, Jobs } from '../jobs/jobs.js';
import type { Clock } from '../runtime/clock.js';
import { JobIdParams, JobListQuery, JobPage, JobSpecBody, JobStatusBody, JobView } from './job-schemas.js';
import { toPage } from './schemas.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/).

const tags = ['jobs'];

/** Who may do what with jobs. The admin socket trusts its callers; the management API checks keys, roles and scopes. */
export interface JobPolicy {
  /** Checks the caller may create a job reaching these targets; returns who asks and who owns it. */
  create(request: FastifyRequest, spec: JobSpec, targets: string[]): Promise<{ who: string; owner: string }>;
  /** Checks the caller may see (and, with the route's permission, control) this job; returns who asks. A refusal is audited. */
  reach(request: FastifyRequest, job: JobRecord): Promise<string>;
  /** Whether the caller may see this job (a list leaves out the others, and audits nothing for them). */
  sees(request: FastifyRequest, job: JobRecord): Promise<boolean>;
}

export const trustedJobPolicy: JobPolicy = {
  create: async () => ({ who: 'admin-socket', owner: 'socket' }),
  reach: async () => 'admin-socket',
  sees: async () => true,
};

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function jobSummary(job: JobRecord) {
  return {
    job_id: job.id,
    name: job.spec.name,
    status: job.status,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    created_by: job.owner,
    targets: job.targets.length,
  };
}

export function jobView({ job, reading, ratePerMinute, nextWindowAt, drivenBy }: JobDetail) {
  const { progress } = reading;
  return {
    ...jobSummary(job),
    steps: job.spec.steps.map((step, i) => ({ action: step.action.name, counts: reading.steps[i]! })),
    finished: progress.finished,
    succeeded: progress.succeeded,
    rate_per_minute: ratePerMinute,
    next_window_at: nextWindowAt === null ? null : iso(nextWindowAt),
    abort: (job.spec.abort ?? []).map((criterion) => {
      const failing = criterion.on === 'failure' ? progress.failed : criterion.on === 'timed_out' ? progress.timedOut : progress.finished - progress.succeeded;
      return { ...criterion, current_percent: progress.finished === 0 ? 0 : Math.round((failing * 1000) / progress.finished) / 10 };
    }),
    abort_reason: job.abortReason,
    driven_by: drivenBy,
    spec: job.spec,
  };
}

function statusFilter(text: string | undefined): JobStatus[] | undefined {
  if (text === undefined) return undefined;
  const statuses = text.split(',').filter((s) => s.length > 0);
  const bad = statuses.find((s) => !isJobStatus(s));
  if (bad !== undefined) throw errors.VALIDATION(`querystring.status: unknown job status ${JSON.stringify(bad)}`);
  return statuses as JobStatus[];
}

/** The job routes: create, list, read, and the operator's pause, resume, approve and cancel. */
export function registerJobRoutes(app: HttpApp, jobs: Jobs, clock: Clock, policy: JobPolicy = trustedJobPolicy): void {
  app.post(
    '/api/v1/jobs',
    {
      schema: {
        tags,
        summary: 'Create a job: steps rolled out to targets on a schedule, at a rate, with a canary, abort criteria and retries',
        querystring: NoQuery,
        body: JobSpecBody,
        response: { 201: JobStatusBody, ...errorResponses },
      },
      config: { permission: 'commands:send' },
    },
    async (request, reply) => {
      const spec = toJobSpec(request.body, clock.now());
      const targets = await jobs.resolveTargets(spec);
      const { who, owner } = await policy.create(request, spec, targets);
      const job = await jobs.create(spec, targets, owner, who);
      return reply.code(201).send({ job_id: job.id, status: job.status });
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      schema: { tags, summary: 'Jobs, newest first', querystring: JobListQuery, response: { 200: JobPage, ...errorResponses } },
      config: { permission: 'commands:read' },
    },
    async (request) => {
      const page = await jobs.list({ status: statusFilter(request.query.status) }, toPage(request.query));
      const visible: JobRecord[] = [];
      for (const job of page.items) if (await policy.sees(request, job)) visible.push(job);
      return { jobs: visible.map(jobSummary), next: page.next };
    },
  );

  const reachable = async (request: FastifyRequest, id: string) => {
    const job = await jobs.get(id);
    return { job, who: await policy.reach(request, job) };
  };

  app.get(
    '/api/v1/jobs/:job_id',
    {
      schema: {
        tags,
        summary: 'A job: where it stands, its counts per status per step, its rate, its next window',
        params: JobIdParams,
        querystring: NoQuery,
        response: { 200: JobView, ...errorResponses },
      },
      config: { permission: 'commands:read' },
    },
    async (request) => {
      await reachable(request, request.params.job_id);
      return jobView(await jobs.detail(request.params.job_id));
    },
  );

  const control = (action: JobControl, summary: string) =>
    app.post(
      `/api/v1/jobs/:job_id/${action}`,
      {
        schema: { tags, summary, params: JobIdParams, querystring: NoQuery, response: { 200: JobStatusBody, ...errorResponses } },
        config: { permission: action === 'cancel' ? 'commands:cancel' : 'commands:send' },
      },
      async (request) => {
        const { who } = await reachable(request, request.params.job_id);
        const job = await jobs.control(request.params.job_id, action, who);
        return { job_id: job.id, status: job.status };
      },
    );
  control('pause', 'Pause a job: nothing new goes out; what went out runs to its end');
  control('resume', 'Resume a paused job');
  control('approve', 'Approve the rest of a job after its canary');
  control('cancel', 'Cancel a job: what has not been delivered is cancelled');
}
