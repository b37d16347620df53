// In the HTTP kernel: the log lines of refused credentials on both TCP listeners go through it.

export interface LogRateLimiterOptions<T> {
  /** Lines let through per key and window. */
  perWindow: number;
  windowMs: number;
  now: () => number;
  /** Told, once a window ends, of the lines it held back: `last` is what the last of them carried. */
  suppressed: (summary: SuppressedLines<T>) => void;
}

/** The lines of one key held back during a window. */
export interface SuppressedLines<T> {
  key: string;
  count: number;
  since: number;
  until: number;
  last: T;
}

interface Window<T> {
  since: number;
  admitted: number;
  held: number;
  last?: T;
}

/**
 * Bounds the log under a flood: per key, the first `perWindow` lines of a window are let through,
 * the rest only counted, and the count is told once, when the window ends (on the key's next line
 * after it, at `sweep`, or at `flush`). So a key costs at most `perWindow + 1` lines per window.
 * Keys must come from a bounded set (e.g. error codes): each one tracked holds an entry.
 */
export class LogRateLimiter<T> {
  private readonly windows = new Map<string, Window<T>>();

  constructor(private readonly options: LogRateLimiterOptions<T>) {}

  /** True: log this line now. False: it was counted into its window's summary. */
  admit(key: string, sample: T): boolean {
    const now = this.options.now();
    let window = this.windows.get(key);
    if (window && now - window.since >= this.options.windowMs) {
      this.close(key, window, now);
      window = undefined;
    }
    if (!window) this.windows.set(key, (window = { since: now, admitted: 0, held: 0 }));
    if (window.admitted < this.options.perWindow) {
      window.admitted++;
      return true;
    }
    window.held++;
    window.last = sample;
    return false;
  }

  /** Ends the windows whose time is up, telling what they held back. */
  sweep(): void {
    const now = this.options.now();
    for (const [key, window] of this.windows) if (now - window.since >= this.options.windowMs) this.close(key, window, now);
  }

  /** Ends every window (shutdown), telling what they held back. */
  flush(): void {
    const now = this.options.now();
    for (const [key, window] of this.windows) this.close(key, window, now);
  }

  private close(key: string, window: Window<T>, now: number): void {
    this.windows.delete(key);
    if (window.held === 0) return;
    this.options.suppressed({ key, count: window.held, since: window.since, until: now, last: window.last! });
  }
}
