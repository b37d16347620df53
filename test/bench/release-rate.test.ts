import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrivalRatePerMinute } from '../../bench/release-rate.js';

/** `rounds` rounds of `perRound` arrivals, one round a second from `start`, each spread over 20 ms. */
function rounds(start: number, count: number, perRound: number): number[] {
  return Array.from({ length: count * perRound }, (_, i) => start + Math.floor(i / perRound) * 1000 + (i % perRound) * (20 / perRound));
}

test('rounds of 100 a second are 6,000 a minute, whatever window boundaries would have cut', () => {
  const times = rounds(10_000, 40, 100);
  // A fixed 30 s window from 3,000 ms after the first arrival holds 30 or 31 rounds (+3.3 %) depending on where it starts.
  assert.equal(Math.round(arrivalRatePerMinute(times, 3000, 30_000)), 6000);
  assert.equal(Math.round(arrivalRatePerMinute(times, 2990, 30_000)), 6000);
});

test('a second without a round counts: 29 rounds in 30 s', () => {
  const times = rounds(0, 40, 100).map((t) => (t >= 20_000 ? t + 1000 : t));
  // From the round at 3 s to the one at 33 s: 29 rounds in 30 s (the second after 19 s had none).
  assert.equal(Math.round(arrivalRatePerMinute(times, 3000, 30_000)), 5800);
});

test('evenly spread arrivals (no rounds) are measured between the window’s first and last', () => {
  const times = Array.from({ length: 4000 }, (_, i) => i * 10); // 100 a second
  assert.equal(Math.round(arrivalRatePerMinute(times, 3000, 30_000)), 6000);
});

test('a fleet released in rounds further apart than the window: measured over every arrival', () => {
  // 1 at once, then 99 a second later, in one millisecond: no two round starts within 500 ms.
  const times = [0, ...Array.from({ length: 99 }, () => 1000)];
  assert.equal(Math.round(arrivalRatePerMinute(times, 100, 500)), 5940);
  // Three rounds a second apart, a window of half a second: the same.
  assert.equal(Math.round(arrivalRatePerMinute(rounds(0, 3, 10), 100, 500)), Math.round((29 / 2018) * 60_000));
});

test('too few arrivals is an error, not a rate', () => {
  assert.throws(() => arrivalRatePerMinute([5], 0, 1000), /too few/);
});
