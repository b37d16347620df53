/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(samples: number[]): number {
  return percentile(samples, 50);
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The bucket bound below which `p` % of the observations added between two readings of a
 * cumulative histogram fall (an upper bound of that percentile).
 */
export function histogramPercentile(before: { le: number; count: number }[], after: { le: number; count: number }[], p: number): number {
  const counts = after.map((b, i) => ({ le: b.le, count: b.count - (before[i]?.count ?? 0) }));
  const total = counts.at(-1)?.count ?? 0;
  return counts.find((b) => b.count >= (p / 100) * total)?.le ?? NaN;
}
