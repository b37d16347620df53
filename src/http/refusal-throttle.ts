// In the HTTP kernel: refused enrollments (agents-api/) and refused operator requests (management/)
// are both held back by it.

/** One kind of anonymous refusal: who (address), where (route, not the raw URL), why (error code). */
export interface RefusalKind {
  address: string;
  route: string;
  reason: string;
}

/** Refusals of one kind held back during a window, written as one record when it ends. */
export interface RefusalSummary extends RefusalKind {
  count: number;
  since: number;
  until: number;
}

export interface RefusalThrottleOptions {
  windowMs: number;
  /** Most kinds tracked at once; beyond, refusals are counted per reason only (address and route `*`). */
  maxKinds: number;
  now: () => number;
  summarize: (summary: RefusalSummary) => void;
}

interface Window extends RefusalKind {
  since: number;
  held: number;
}

/**
 * Bounds the audit trail under an unauthenticated flood: per kind of refusal, the first in a window
 * is written, the rest are only counted, and the count is written once, as a summary, when the
 * window ends (`sweep`) or at shutdown (`flush`). So each kind costs at most two records per
 * window, and the tracked kinds are bounded too (`maxKinds`).
 */
export class RefusalThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: RefusalThrottleOptions) {}

  /** True: write this refusal to the audit trail now. False: it was counted into its window's summary. */
  admit(kind: RefusalKind): boolean {
    const now = this.options.now();
    let key = keyOf(kind);
    let window = this.windows.get(key);
    if (window && now - window.since >= this.options.windowMs) {
      this.close(key, window, now);
      window = undefined;
    }
    if (!window && this.windows.size >= this.options.maxKinds) {
      // Too many kinds at once (many addresses): fold the new ones into one bucket per reason, counted only.
      const overflow = { address: '*', route: '*', reason: kind.reason };
      key = keyOf(overflow);
      window = this.windows.get(key);
      if (!window) this.windows.set(key, (window = { ...overflow, since: now, held: 0 }));
      window.held++;
      return false;
    }
    if (!window) {
      this.windows.set(key, { ...kind, since: now, held: 0 });
      return true;
    }
    window.held++;
    return false;
  }

  /** Ends the windows whose time is up, summarizing what they held back. */
  sweep(): void {
    const now = this.options.now();
    for (const [key, window] of this.windows) if (now - window.since >= this.options.windowMs) this.close(key, window, now);
  }

  /** Ends every window (shutdown), summarizing what they held back. */
  flush(): void {
    const now = this.options.now();
    for (const [key, window] of this.windows) this.close(key, window, now);
  }

  /** Kinds tracked right now. */
  get size(): number {
    return this.windows.size;
  }

  private close(key: string, window: Window, now: number): void {
    this.windows.delete(key);
    if (window.held === 0) return;
    const { address, route, reason, since, held } = window;
    this.options.summarize({ address, route, reason, count: held, since, until: now });
  }
}

function keyOf({ address, route, reason }: RefusalKind): string {
  return `${address}\u0000${route}\u0000${reason}`;
}
