import type { Rollout } from '../domain/job.js';
import type { JobReading } from './job-progress.js';

/**
 * The job's rate in targets per minute given how far it got, or null for no limit. An exponential
 * rollout starts at its base rate and multiplies it by its factor each time another `increase_after`
 * targets were notified (or succeeded), up to its maximum — as AWS IoT Jobs' exponential rollouts do.
 */
export function ratePerMinute(rollout: Rollout | undefined, reached: Pick<JobReading, 'notified' | 'progress'>): number | null {
  if (!rollout) return null;
  if ('max_per_minute' in rollout) return rollout.max_per_minute;
  const { base_per_minute: base, factor, increase_after: after, max_per_minute: max } = rollout.exponential;
  const [count, every] = 'notified' in after ? [reached.notified, after.notified] : [reached.progress.succeeded, after.succeeded];
  const increases = Math.floor(count / every);
  return Math.min(max, Math.floor(base * factor ** increases));
}

/**
 * How many targets may start now: a budget that fills at the rate, one second's worth at most (so a
 * pause or a closed window does not save up a burst), and never less than one whole target.
 */
export class ReleaseBudget {
  private tokens = 0;
  private at: number | null = null;

  /** Targets that may start now at `perMinute` (null: all of them); take what you use with `spend`. */
  available(now: number, perMinute: number | null): number {
    if (perMinute === null) return Infinity;
    const capacity = Math.max(1, perMinute / 60);
    if (this.at === null) this.tokens = Math.min(1, capacity);
    else this.tokens = Math.min(capacity, this.tokens + ((now - this.at) * perMinute) / 60_000);
    this.at = now;
    return Math.floor(this.tokens);
  }

  spend(count: number): void {
    this.tokens -= count;
  }

  /** While nothing may go out (paused, outside a window), the budget does not fill. */
  hold(): void {
    this.at = null;
  }
}
