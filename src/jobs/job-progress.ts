import type { JobProgress } from '../../machines/job.machine.js';
import { FINAL_STATUSES, zeroCountsByStatus, type CommandStatus } from '../domain/command.js';
import { durationOrNull } from '../domain/duration.js';
import type { JobCommand, JobSpec } from '../domain/job.js';

/** One command to create: the step of the job for one target, its attempt (1 the first time). */
export interface Release {
  route: string;
  step: number;
  attempt: number;
}

export type StepCounts = Record<CommandStatus | 'not_started', number>;

/** Where a job stands, read from its commands: what the machine is told, what may go out next. */
export interface JobReading {
  progress: JobProgress;
  /** Per step: its commands' statuses (the latest attempt per target), and the targets it has not reached. */
  steps: StepCounts[];
  /** Targets that received their first command. */
  notified: number;
  /** Targets not started yet, in rollout order: they go out at the job's rate. */
  notStarted: string[];
  /** Next steps and retries due now for targets already started: they go out at once. */
  followUps: Release[];
  /** The earliest time a retry's backoff ends, when one is waiting (ms). */
  nextRetryAt: number | null;
}

/** How one target's run of the steps stands. */
type TargetState =
  { kind: 'not_started' } | { kind: 'running'; step: number } | { kind: 'waiting'; release: Release; at: number } | { kind: 'finished'; outcome: 'success' | CommandStatus };

/**
 * Reads a job's progress from its commands: for each target, the latest attempt of each step. A target
 * moves to step N+1 once step N succeeded on it (`per_target`), or once step N finished on every target
 * (`barrier`); a failed command is tried again while a retry rule of its failure type allows.
 */
export function readJob(spec: JobSpec, targets: string[], commands: JobCommand[], canaryTargets: number, now: number): JobReading {
  const latest = latestAttempts(commands);
  const steps: StepCounts[] = spec.steps.map(() => ({ ...zeroCountsByStatus(), not_started: targets.length }));
  const states = targets.map((route) => {
    const byStep = latest.get(route);
    // Counted per target: the commands of a target that left the job (an agent removed) are not its.
    for (const [step, command] of byStep ?? []) {
      const counts = steps[step];
      if (!counts) continue;
      counts[command.status]++;
      counts.not_started--;
    }
    return targetState(spec, route, byStep, now);
  });

  // A barrier holds a step back until no unfinished target is on an earlier one.
  let lowestStage = Infinity;
  for (const state of states) lowestStage = Math.min(lowestStage, stageOf(state));
  const progress: JobProgress = { finished: 0, succeeded: 0, failed: 0, timedOut: 0, canaryFinished: 0, canarySucceeded: 0, done: false };
  const notStarted: string[] = [];
  const followUps: Release[] = [];
  let nextRetryAt: number | null = null;
  let notified = 0;
  for (const [i, state] of states.entries()) {
    if (state.kind === 'not_started') {
      notStarted.push(targets[i]!);
      continue;
    }
    notified++;
    if (state.kind === 'waiting') {
      const held = spec.sequence === 'barrier' && state.release.attempt === 1 && state.release.step > lowestStage;
      if (held) continue;
      if (state.at <= now) followUps.push(state.release);
      else nextRetryAt = Math.min(nextRetryAt ?? Infinity, state.at);
    }
    if (state.kind !== 'finished') continue;
    progress.finished++;
    const canary = i < canaryTargets;
    if (canary) progress.canaryFinished++;
    if (state.outcome === 'success') {
      progress.succeeded++;
      if (canary) progress.canarySucceeded++;
    } else if (state.outcome === 'failure') progress.failed++;
    else if (state.outcome === 'timed_out') progress.timedOut++;
  }
  progress.done = !spec.continuous && targets.length > 0 && progress.finished === targets.length;
  return { progress, steps, notified, notStarted, followUps, nextRetryAt };
}

/** Per route, per step: the command of the latest attempt. */
function latestAttempts(commands: JobCommand[]): Map<string, Map<number, JobCommand>> {
  const latest = new Map<string, Map<number, JobCommand>>();
  for (const command of commands) {
    let byStep = latest.get(command.route);
    if (!byStep) latest.set(command.route, (byStep = new Map<number, JobCommand>()));
    const known = byStep.get(command.step);
    if (!known || known.attempt < command.attempt) byStep.set(command.step, command);
  }
  return latest;
}

function targetState(spec: JobSpec, route: string, byStep: Map<number, JobCommand> | undefined, now: number): TargetState {
  if (!byStep || byStep.size === 0) return { kind: 'not_started' };
  for (let step = 0; step < spec.steps.length; step++) {
    const command = byStep.get(step);
    if (!command) return { kind: 'waiting', release: { route, step, attempt: 1 }, at: now };
    if (command.status === 'success') continue;
    if (!FINAL_STATUSES.has(command.status)) return { kind: 'running', step };
    const retry = retryOf(spec, command);
    if (retry !== null) return { kind: 'waiting', release: { route, step, attempt: command.attempt + 1 }, at: command.updatedAt + retry };
    return { kind: 'finished', outcome: command.status };
  }
  return { kind: 'finished', outcome: 'success' };
}

/** The backoff (ms) before the next attempt of a failed command, or null when no rule allows one. */
function retryOf(spec: JobSpec, command: JobCommand): number | null {
  if (command.status !== 'failure' && command.status !== 'timed_out') return null;
  const rule = (spec.retries ?? []).find((r) => r.on === command.status || r.on === 'any');
  if (!rule || command.attempt >= rule.max_attempts) return null;
  return rule.backoff ? (durationOrNull(rule.backoff) ?? 0) : 0;
}

/** The step a target is on (running or waiting for), for the barrier; past every step when finished. */
function stageOf(state: TargetState): number {
  switch (state.kind) {
    case 'not_started':
      return 0;
    case 'running':
      return state.step;
    case 'waiting':
      return state.release.step;
    case 'finished':
      return Infinity;
  }
}
