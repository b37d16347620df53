import type { OperatorStore } from '../store/operator-store.js';

/** How often a key's last use is written, at most (ms). */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export interface KeyUseRecorderOptions {
  store: Pick<OperatorStore, 'touchApiKey'>;
  now: () => number;
  intervalMs?: number;
  /** A write that failed (it is tried again at the key's next use). */
  onError: (error: unknown, keyId: string) => void;
}

/**
 * Records when each key last authenticated a request without a write per request: a key's use is
 * written at its first use, then at most once per interval (per key and per node), and never
 * awaited by the request. `last_used_at` is therefore exact to within the interval.
 */
export class KeyUseRecorder {
  /** When this node last wrote each key's use: one entry per key that authenticated here. */
  private readonly writtenAt = new Map<string, number>();
  private readonly writes = new Set<Promise<void>>();
  private readonly intervalMs: number;

  constructor(private readonly options: KeyUseRecorderOptions) {
    this.intervalMs = options.intervalMs ?? LAST_USED_WRITE_INTERVAL_MS;
  }

  /** The key `id` authenticated a request now. */
  used(id: string): void {
    const at = this.options.now();
    const last = this.writtenAt.get(id);
    if (last !== undefined && at - last < this.intervalMs) return;
    this.writtenAt.set(id, at);
    const write: Promise<void> = this.options.store
      .touchApiKey(id, at)
      .catch((error: unknown) => {
        // Not written: the next use tries again.
        if (this.writtenAt.get(id) === at) this.writtenAt.delete(id);
        this.options.onError(error, id);
      })
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** Forgets a key (revoked: it will not be used again). */
  forget(id: string): void {
    this.writtenAt.delete(id);
  }

  /** Resolves when the writes under way have ended (before the store closes). */
  async settled(): Promise<void> {
    await Promise.all(this.writes);
  }
}
