/** Arrivals further apart than this start a new round of a job's releases (rounds come once a second). */
const ROUND_GAP_MS = 200;

/**
 * The rate (per minute) at which arrivals came, measured from the start of one round of releases to
 * the start of a later one, `skipMs` after the first arrival and at most `windowMs` apart: the
 * arrivals of whole rounds over the time they span. Counting over a fixed window instead catches 30
 * or 31 rounds of 100 in 30 s, an error of up to 3.3 % that is the window's, not the job's. With no
 * rounds to tell apart (arrivals spread evenly), the window's first and last arrivals bound it.
 */
export function arrivalRatePerMinute(times: number[], skipMs: number, windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length < 2) throw new Error(`${sorted.length} arrivals: too few for a rate`);
  const from = sorted[0]! + skipMs;
  const starts = sorted.flatMap((t, i) => (i > 0 && t - sorted[i - 1]! > ROUND_GAP_MS && t >= from ? [i] : []));
  let first: number;
  let last: number;
  if (starts.length >= 2) {
    first = starts[0]!;
    last = starts.filter((i) => sorted[i]! - sorted[first]! <= windowMs).at(-1)!;
  } else {
    first = Math.max(
      0,
      sorted.findIndex((t) => t >= from),
    );
    last = sorted.findLastIndex((t) => t - sorted[first]! <= windowMs);
  }
  // Nothing to measure in the window (a fleet smaller than a few seconds of the rate, released in a
  // round or two): then over every arrival.
  if (sorted[last]! - sorted[first]! <= 0) [first, last] = [0, sorted.length - 1];
  const spanMs = sorted[last]! - sorted[first]!;
  if (spanMs <= 0) throw new Error('every arrival at one instant: no span to measure a rate over');
  return ((last - first) / spanMs) * 60_000;
}
