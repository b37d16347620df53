import { constants, createHistogram, PerformanceObserver } from 'node:perf_hooks';

/** Upper bounds of the GC pause histogram's buckets (ms). */
const GC_BOUNDS_MS = [1, 2, 5, 10, 20, 50, Infinity];

/** How often the event loop is sampled (ms). */
const SAMPLE_MS = 5;

/** Garbage-collection pauses and event-loop delay of this process since the last reading. */
export interface Pauses {
  gcCount: number;
  gcTotalMs: number;
  gcLongest: { kind: string; ms: number }[];
  /** How many pauses took at most each bound (ms), the last bound open-ended; each pause counted once. */
  gcHistogram: { upToMs: number; count: number }[];
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Starts watching this process; each call of the returned function reads and resets. */
export function watchPauses(): () => Pauses {
  let gcPauses: { kind: string; ms: number }[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcPauses.push({ kind: GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other', ms: e.duration });
    }
  }).observe({ entryTypes: ['gc'] });
  // The loop's delay is how late a 5 ms timer fires. Not monitorEventLoopDelay: on Node 20 it missed a
  // single 1.5 s block of the loop altogether (checked: it reported 11 ms), and one long block is what
  // matters here.
  const loopDelay = createHistogram();
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    loopDelay.record(Math.max(1, Math.round((now - last - SAMPLE_MS) * 1e6)));
    last = now;
  }, SAMPLE_MS).unref();
  return () => {
    const summary: Pauses = {
      gcCount: gcPauses.length,
      gcTotalMs: gcPauses.reduce((t, p) => t + p.ms, 0),
      gcLongest: [...gcPauses].sort((a, b) => b.ms - a.ms).slice(0, 5),
      gcHistogram: GC_BOUNDS_MS.map((upToMs, i) => ({
        upToMs,
        count: gcPauses.filter((p) => p.ms <= upToMs && (i === 0 || p.ms > GC_BOUNDS_MS[i - 1]!)).length,
      })),
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
    };
    gcPauses = [];
    loopDelay.reset();
    return summary;
  };
}

/** One line for a phase's notes: GC pauses (count, total, histogram by length, longest) and event-loop delay. */
export function describePauses(p: Pauses): string {
  const longest = p.gcLongest.map((g) => `${g.kind} ${g.ms.toFixed(1)}`).join(', ');
  const histogram = p.gcHistogram
    .map((b, i, all) => (b.count === 0 ? '' : `${Number.isFinite(b.upToMs) ? `≤ ${b.upToMs}` : `> ${all[i - 1]?.upToMs ?? 0}`}: ${b.count}`))
    .filter(Boolean)
    .join(', ');
  return (
    `${p.gcCount} GC pauses, ${p.gcTotalMs.toFixed(0)} ms in all (by length in ms: ${histogram || 'none'}; longest: ${longest || 'none'} ms); ` +
    `event-loop delay p99 ${p.loopDelayP99Ms.toFixed(1)} ms, max ${p.loopDelayMaxMs.toFixed(1)} ms`
  );
}
