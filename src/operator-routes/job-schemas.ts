import { Type, type Static } from 'typebox';
import { COMMAND_STATUSES } from '../domain/command.js';
import { JOB_STATUSES } from '../domain/job.js';
import { Id, IsoTime } from '../http/schemas.js';
import { ActionSchema, CommandSpecSchema } from './command-schemas.js';
import { Limit } from './schemas.js';

// The job routes' requests and answers. Mounted on the admin socket and on the management API.

const Name = Type.String({ minLength: 1, maxLength: 256 });
const Ids = Type.Array(Id, { maxItems: 100_000 });
const Percent = Type.Number({ minimum: 0, maximum: 100 });
const PerMinute = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const FailureType = Type.Union([Type.Literal('failure'), Type.Literal('timed_out'), Type.Literal('any')]);
const Duration = Type.String({ pattern: '^[0-9]+(s|m|h|d)$', maxLength: 16, description: 'e.g. 30s, 90m, 2h, 1d' });

const Step = Type.Object(
  {
    action: ActionSchema,
    /** Seconds within which each of the step's commands must be delivered (at most 30 days). */
    timeout: CommandSpecSchema.properties.timeout,
  },
  { additionalProperties: false },
);

export const JobSpecBody = Type.Object(
  {
    name: Name,
    targets: Type.Object(
      { agents: Type.Optional(Ids), groups: Type.Optional(Type.Array(Id, { maxItems: 1000 })), servers: Type.Optional(Type.Array(Id, { maxItems: 1000 })) },
      { additionalProperties: false },
    ),
    continuous: Type.Optional(Type.Boolean()),
    steps: Type.Array(Step, { minItems: 1, maxItems: 20 }),
    sequence: Type.Optional(Type.Union([Type.Literal('per_target'), Type.Literal('barrier')])),
    schedule: Type.Optional(
      Type.Object(
        {
          start_at: Type.Optional(IsoTime),
          end_at: Type.Optional(IsoTime),
          end_behavior: Type.Optional(Type.Union([Type.Literal('stop_rollout'), Type.Literal('cancel')])),
          maintenance_windows: Type.Optional(
            Type.Array(
              Type.Object(
                { cron: Type.String({ minLength: 9, maxLength: 256 }), duration: Duration, time_zone: Type.String({ minLength: 1, maxLength: 64 }) },
                { additionalProperties: false },
              ),
              { maxItems: 20 },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    rollout: Type.Optional(
      Type.Union([
        Type.Object({ max_per_minute: PerMinute }, { additionalProperties: false }),
        Type.Object(
          {
            exponential: Type.Object(
              {
                base_per_minute: PerMinute,
                // Above 1 (checked in job-spec.ts: OpenAPI 3.0 has no numeric exclusiveMinimum).
                factor: Type.Number({ minimum: 1, maximum: 5 }),
                increase_after: Type.Union([
                  Type.Object({ notified: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
                  Type.Object({ succeeded: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
                ]),
                max_per_minute: PerMinute,
              },
              { additionalProperties: false },
            ),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    canary: Type.Optional(
      Type.Object(
        {
          targets: Type.Optional(Type.Integer({ minimum: 1 })),
          // Above 0 (checked in job-spec.ts).
          percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
          then: Type.Union([Type.Literal('approve'), Type.Object({ auto_at_success_percent: Percent }, { additionalProperties: false })]),
        },
        { additionalProperties: false },
      ),
    ),
    abort: Type.Optional(
      Type.Array(Type.Object({ on: FailureType, threshold_percent: Percent, min_finished: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }), { maxItems: 10 }),
    ),
    retries: Type.Optional(
      Type.Array(Type.Object({ on: FailureType, max_attempts: Type.Integer({ minimum: 1, maximum: 10 }), backoff: Type.Optional(Duration) }, { additionalProperties: false }), {
        maxItems: 3,
      }),
    ),
  },
  { additionalProperties: false },
);
export type JobSpecBody = Static<typeof JobSpecBody>;

const Counts = Type.Object(Object.fromEntries([...COMMAND_STATUSES, 'not_started'].map((s) => [s, Type.Integer()])));

/** A job in a list. */
export const JobSummary = Type.Object({
  job_id: Type.String(),
  name: Type.String(),
  status: Type.Enum(JOB_STATUSES),
  created_at: IsoTime,
  updated_at: IsoTime,
  created_by: Type.String(),
  targets: Type.Integer({ description: 'How many targets it reaches' }),
});

/** A job as read: its spec, where it stands, and its progress per step. */
export const JobView = Type.Object({
  ...JobSummary.properties,
  steps: Type.Array(Type.Object({ action: Type.String(), counts: Counts })),
  finished: Type.Integer({ description: 'Targets whose run of the steps ended' }),
  succeeded: Type.Integer({ description: 'Targets where every step succeeded' }),
  rate_per_minute: Type.Union([Type.Integer(), Type.Null()], { description: 'New targets per minute now; null: no limit' }),
  next_window_at: Type.Union([IsoTime, Type.Null()], { description: 'When the next maintenance window opens, when outside one' }),
  abort: Type.Array(Type.Object({ on: FailureType, threshold_percent: Type.Number(), min_finished: Type.Integer(), current_percent: Type.Number() })),
  abort_reason: Type.Union([Type.String(), Type.Null()]),
  driven_by: Type.Union([Type.String(), Type.Null()], { description: 'The node driving it now; null once it ended (or while no node holds it)' }),
  spec: Type.Unknown(),
});
export const JobPage = Type.Object({ jobs: Type.Array(JobSummary), next: Type.Union([Type.String(), Type.Null()]) });
export const JobIdParams = Type.Object({ job_id: Id });
export const JobListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ description: 'Comma-separated statuses' })),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const JobStatusBody = Type.Object({ job_id: Type.String(), status: Type.Enum(JOB_STATUSES) });
