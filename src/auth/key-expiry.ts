import { errors } from '../errors.js';

/** How a new key's expiry is asked for: a time, or seconds from now; neither for a key that never expires. */
export interface ExpiryRequest {
  /** ISO 8601 time, in the future. */
  expires_at?: string | undefined;
  /** Seconds from now (a whole number, at least 1). */
  expires_in?: number | undefined;
}

/** Ten years: a longer life is no expiry; say none instead. */
export const MAX_EXPIRES_IN_S = 10 * 365 * 24 * 3600;

/** When a new key expires (ms), or null for never; 400 for both fields, a time not in the future, or a bad number. */
export function keyExpiry(request: ExpiryRequest, now: number): number | null {
  const { expires_at: at, expires_in: inS } = request;
  if (at !== undefined && inS !== undefined) throw errors.VALIDATION('Give expires_at or expires_in, not both');
  if (inS !== undefined) {
    if (!Number.isInteger(inS) || inS < 1 || inS > MAX_EXPIRES_IN_S) {
      throw errors.VALIDATION(`body/expires_in must be a whole number of seconds from 1 to ${MAX_EXPIRES_IN_S}`);
    }
    return now + inS * 1000;
  }
  if (at === undefined) return null;
  const time = Date.parse(at);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(at) || Number.isNaN(time)) throw errors.VALIDATION(`body/expires_at must be an ISO 8601 time, e.g. 2030-01-31T12:00:00Z (got "${at}")`);
  if (time <= now) throw errors.VALIDATION(`body/expires_at must be in the future: ${new Date(time).toISOString()} is not after ${new Date(now).toISOString()}`);
  return time;
}
