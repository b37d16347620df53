import { actionArgsProblem, KNOWN_ACTIONS } from '../domain/action-args.js';
import { ACTION_ARGS_LIMITS, assertWithinLimits } from '../domain/json-limits.js';
import type { JobSpec } from '../domain/job.js';
import { errors } from '../errors.js';
import { windowProblem } from './maintenance-windows.js';

/** A job as its request says it, after its schema: the steps' args and version may be left out. */
export type JobRequest = Omit<JobSpec, 'steps'> & { steps: { action: { name: string; args?: Record<string, unknown>; version?: string }; timeout: number }[] };

/**
 * A job as asked for, checked beyond its schema (which has bounded every number): what the schema
 * cannot say. Throws a validation error naming the field; nothing is stored for a refused job.
 */
export function toJobSpec(body: JobRequest, now: number): JobSpec {
  const problem = jobSpecProblem(body, now);
  if (problem) throw errors.VALIDATION(problem);
  body.steps.forEach((step, i) => assertWithinLimits(step.action.args ?? {}, ACTION_ARGS_LIMITS, `body.steps.${i}.action.args`));
  return {
    ...body,
    steps: body.steps.map((step) => ({ action: { name: step.action.name, args: step.action.args ?? {}, version: step.action.version ?? '' }, timeout: step.timeout })),
  };
}

function jobSpecProblem(body: JobRequest, now: number): string | null {
  const { targets, schedule, canary, rollout } = body;
  if (!targets.agents?.length && !targets.groups?.length && !targets.servers?.length) {
    return 'body.targets must name at least one agent, group or server component';
  }
  for (const [i, step] of body.steps.entries()) {
    if (!KNOWN_ACTIONS.includes(step.action.name)) return `body.steps.${i}.action.name: unknown action ${JSON.stringify(step.action.name)} (one of ${KNOWN_ACTIONS.join(', ')})`;
    const args = actionArgsProblem({ name: step.action.name, args: step.action.args ?? {} }, `body.steps.${i}`);
    if (args) return args;
  }
  if (schedule) {
    const start = schedule.start_at === undefined ? now : Date.parse(schedule.start_at);
    if (schedule.end_at !== undefined) {
      const end = Date.parse(schedule.end_at);
      if (end <= start) return `body.schedule.end_at must be after ${schedule.start_at === undefined ? 'now' : 'body.schedule.start_at'}`;
      if (end <= now) return 'body.schedule.end_at is in the past';
    }
    for (const [i, window] of (schedule.maintenance_windows ?? []).entries()) {
      const problem = windowProblem(window, `body.schedule.maintenance_windows.${i}`);
      if (problem) return problem;
    }
  }
  if (rollout && 'exponential' in rollout && rollout.exponential.max_per_minute < rollout.exponential.base_per_minute) {
    return 'body.rollout.exponential.max_per_minute must be at least base_per_minute';
  }
  if (rollout && 'exponential' in rollout && rollout.exponential.factor <= 1) return 'body.rollout.exponential.factor must be above 1';
  if (canary && (canary.targets === undefined) === (canary.percent === undefined)) return 'body.canary needs one of targets or percent';
  if (canary?.percent !== undefined && canary.percent <= 0) return 'body.canary.percent must be above 0';
  if (body.continuous && !targets.groups?.length) return 'body.continuous needs body.targets.groups: it reaches agents that join them later';
  if (body.continuous && canary) return 'body.canary cannot be used with body.continuous (the canary would never finish)';
  return null;
}

/** How many of a job's targets are its canary. */
export function canarySize(spec: JobSpec, targets: number): number {
  if (!spec.canary) return 0;
  const size = spec.canary.targets ?? Math.ceil((targets * spec.canary.percent!) / 100);
  return Math.min(targets, Math.max(1, size));
}
