import { CronExpressionParser } from 'cron-parser';
import { durationOrNull } from '../domain/duration.js';
import type { MaintenanceWindow } from '../domain/job.js';

/** Whether a time is inside one of the windows, and when that changes next. */
export interface WindowState {
  open: boolean;
  /** When the next window opens (closed now), or when the open one closes (open now), in ms. */
  changesAt: number;
}

/**
 * A window is open from each time its cron expression names (in its time zone) for its duration. The
 * windows of a job are open when any one of them is.
 */
export function windowState(windows: MaintenanceWindow[], now: number): WindowState {
  let open = false;
  let closesAt = 0;
  let nextOpen = Infinity;
  for (const window of windows) {
    const duration = durationOrNull(window.duration)!;
    const schedule = CronExpressionParser.parse(window.cron, { currentDate: new Date(now + 1), tz: window.time_zone });
    const opened = schedule.prev().getTime();
    if (now < opened + duration) {
      open = true;
      closesAt = Math.max(closesAt, opened + duration);
    }
    const again = CronExpressionParser.parse(window.cron, { currentDate: new Date(now), tz: window.time_zone })
      .next()
      .getTime();
    nextOpen = Math.min(nextOpen, again);
  }
  return open ? { open, changesAt: closesAt } : { open, changesAt: nextOpen };
}

/** Why a window cannot be used, naming its field; null when it can. */
export function windowProblem(window: MaintenanceWindow, field: string): string | null {
  if (durationOrNull(window.duration) === null) return `${field}.duration must be a duration such as 90m, 2h or 1d (got ${JSON.stringify(window.duration)})`;
  try {
    // An unknown zone is refused by Intl (what cron-parser's time zone support rests on).
    new Intl.DateTimeFormat('en', { timeZone: window.time_zone });
  } catch {
    return `${field}.time_zone is not a time zone (got ${JSON.stringify(window.time_zone)})`;
  }
  try {
    CronExpressionParser.parse(window.cron, { tz: window.time_zone });
  } catch (error) {
    return `${field}.cron is not a cron expression: ${(error as Error).message}`;
  }
  if (window.cron.trim().split(/\s+/).length !== 5) return `${field}.cron must have five fields (minute hour day month weekday)`;
  return null;
}
