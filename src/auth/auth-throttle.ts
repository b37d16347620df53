/**
 * Failed authentications per key (a source address, or an agent id), with exponential
 * back-off. A key may fail `allowance` times in a window; the failure that uses the allowance up
 * blocks it for a window, and each block that follows before the key has been quiet doubles
 * (1, 2, 4, 8 min … up to `maxBlockMs`). After a block the allowance starts afresh. So with the
 * defaults (15 per minute) the 16th failed attempt in a minute is refused without being tried.
 *
 * With `countInFlight`, attempts under way count against what is left of the allowance, so that a
 * burst of concurrent guesses cannot all be tried before the first failure is recorded.
 */
export interface AuthThrottleOptions {
  /** Failures allowed per key and window. */
  allowance: number;
  /**
   * Count attempts under way as failures to come. Right for an agent id (one agent does not log in
   * many times at once); wrong for an address, behind which a whole site may log in at once.
   */
  countInFlight: boolean;
  windowMs: number;
  /** The longest block; a key quiet this long after its last block starts over. */
  maxBlockMs: number;
  /** Most keys tracked; past it, the one that failed least recently is forgotten. */
  maxKeys: number;
  now: () => number;
}

interface Entry {
  windowStart: number;
  failures: number;
  inFlight: number;
  blockedUntil: number;
  /** Blocks so far, without a quiet spell: the next lasts windowMs * 2^strikes. */
  strikes: number;
  lastFailure: number;
}

export class AuthThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: AuthThrottleOptions) {}

  /** 0: the key may try now (and its attempt is counted as under way). Otherwise: seconds to wait. */
  begin(key: string): number {
    const now = this.options.now();
    const entry = this.current(key, now);
    if (entry) {
      if (entry.blockedUntil > now) return Math.ceil((entry.blockedUntil - now) / 1000);
      // Its remaining allowance is taken by attempts under way: any of them may still fail.
      if (this.options.countInFlight && entry.failures + entry.inFlight >= this.options.allowance) return 1;
    }
    this.touch(key, entry ?? fresh(now)).inFlight++;
    return 0;
  }

  /**
   * The attempt `begin` admitted has ended. A failure counts (and may block the key); a success
   * resets the key when `resetOnSuccess` (an agent id proved its key; an address did not).
   */
  end(key: string, outcome: 'failed' | 'succeeded' | 'neither', resetOnSuccess = false): void {
    const now = this.options.now();
    const entry = this.current(key, now);
    if (entry) entry.inFlight = Math.max(0, entry.inFlight - 1);
    if (outcome === 'succeeded' && resetOnSuccess) {
      if (entry && entry.inFlight === 0) this.entries.delete(key);
      else if (entry) Object.assign(entry, { failures: 0, strikes: 0, blockedUntil: 0 });
      return;
    }
    if (outcome !== 'failed') {
      if (entry && this.idle(entry, now)) this.entries.delete(key);
      return;
    }
    const e = this.touch(key, entry ?? fresh(now));
    if (now - e.windowStart >= this.options.windowMs) {
      e.windowStart = now;
      e.failures = 0;
    }
    e.failures++;
    e.lastFailure = now;
    if (e.failures < this.options.allowance) return;
    e.blockedUntil = now + Math.min(this.options.windowMs * 2 ** e.strikes, this.options.maxBlockMs);
    e.strikes++;
    // The allowance starts afresh once the block is over.
    e.windowStart = e.blockedUntil;
    e.failures = 0;
  }

  /** Forgets the keys that hold nothing any more (not blocked, quiet long enough). */
  sweep(): void {
    const now = this.options.now();
    for (const [key, entry] of this.entries) if (this.idle(entry, now)) this.entries.delete(key);
  }

  /** Keys tracked right now. */
  get size(): number {
    return this.entries.size;
  }

  /** The key's entry, unless it has nothing left to say (then it is dropped). */
  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.idle(entry, now)) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private idle(entry: Entry, now: number): boolean {
    if (entry.inFlight > 0 || entry.blockedUntil > now) return false;
    // Once blocked, a key is remembered (with its back-off) until it has been quiet, after its last
    // block, for as long as the longest block.
    if (entry.strikes > 0) return now - Math.max(entry.lastFailure, entry.blockedUntil) >= this.options.maxBlockMs;
    return entry.failures === 0 || now - entry.windowStart >= this.options.windowMs;
  }

  /** Puts the entry last (most recent), evicting the least recent past `maxKeys`. */
  private touch(key: string, entry: Entry): Entry {
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, entry);
    return entry;
  }
}

function fresh(now: number): Entry {
  return { windowStart: now, failures: 0, inFlight: 0, blockedUntil: 0, strikes: 0, lastFailure: now };
}
