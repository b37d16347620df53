import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** Garbage-collection pauses and event-loop delay of this process since the last reading. */
export interface Pauses {
  gcCount: number;
  gcTotalMs: number;
  gcLongest: { kind: string; ms: number }[];
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
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  return () => {
    const summary: Pauses = {
      gcCount: gcPauses.length,
      gcTotalMs: gcPauses.reduce((t, p) => t + p.ms, 0),
      gcLongest: [...gcPauses].sort((a, b) => b.ms - a.ms).slice(0, 5),
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
    };
    gcPauses = [];
    loopDelay.reset();
    return summary;
  };
}
