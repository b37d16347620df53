/**
 * Jobs: a rollout of one or more steps (each an action) to many targets, scheduled, rate-limited,
 * with a canary, abort criteria and retries. The API's words (snake_case) are kept as they are in
 * the stored spec; the job machine (machines/job.machine.ts) holds the lifecycle.
 */
import type { CommandAction, CommandStatus } from './command.js';

/** Every status of a job: the job machine's states, in lifecycle order. */
export const JOB_STATUSES = ['scheduled', 'waiting_window', 'canary', 'awaiting_approval', 'rolling_out', 'paused', 'completed', 'aborted', 'cancelled', 'ended'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'aborted', 'cancelled', 'ended'] as const);

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

export type FailureType = 'failure' | 'timed_out' | 'any';

export interface JobStep {
  action: CommandAction;
  /** Seconds within which each of the step's commands must be delivered. */
  timeout: number;
}

export interface MaintenanceWindow {
  /** Five-field cron expression of the window's opening times. */
  cron: string;
  /** How long it stays open: `90m`, `2h`, `1d`. */
  duration: string;
  time_zone: string;
}

export type Rollout =
  | { max_per_minute: number }
  | {
      exponential: {
        base_per_minute: number;
        factor: number;
        increase_after: { notified: number } | { succeeded: number };
        max_per_minute: number;
      };
    };

/** A job as asked for (`POST /api/v1/jobs`), after validation: what is stored with it. */
export interface JobSpec {
  name: string;
  targets: { agents?: string[]; groups?: string[]; servers?: string[] };
  continuous?: boolean;
  steps: JobStep[];
  sequence?: 'per_target' | 'barrier';
  schedule?: {
    start_at?: string;
    end_at?: string;
    end_behavior?: 'stop_rollout' | 'cancel';
    maintenance_windows?: MaintenanceWindow[];
  };
  rollout?: Rollout;
  canary?: { targets?: number; percent?: number; then: 'approve' | { auto_at_success_percent: number } };
  abort?: { on: FailureType; threshold_percent: number; min_finished: number }[];
  retries?: { on: FailureType; max_attempts: number; backoff?: string }[];
}

/** A stored job. */
export interface JobRecord {
  id: string;
  spec: JobSpec;
  status: JobStatus;
  /** The routes it reaches (`agent:<id>`, `server:<module>`), in the order they are rolled out to. */
  targets: string[];
  createdAt: number;
  /** Who created it (`socket`, `key:<id>`): its commands are theirs, and their audit records name the job. */
  owner: string;
  updatedAt: number;
  /** The job machine's persisted snapshot: the job resumes from it after a restart. */
  snapshot: unknown;
  /** Why it aborted, when it did. */
  abortReason: string | null;
  /** Which node drives it, and until when (a store shared by several nodes). */
  lease?: { node: string; until: number } | null;
  /** Opaque version of the stored record, for conditional writes. */
  version?: string;
}

/** One command of a job, as the job's driver reads it back. */
export interface JobCommand {
  document_id: string;
  route: string;
  step: number;
  attempt: number;
  status: CommandStatus;
  /** When it last changed (ms): a retry's backoff counts from its end. */
  updatedAt: number;
}

/** A job's audit record: one transition of the job. */
export interface JobTransitionRecord {
  job_id: string;
  from: JobStatus | null;
  to: JobStatus;
  cause: string;
  at: number;
  node: string;
  actor: string;
  /** e.g. why it aborted. */
  detail?: string | undefined;
}
