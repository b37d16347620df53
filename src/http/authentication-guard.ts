import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { AuthThrottle } from '../auth/auth-throttle.js';
import { CourierError, errors } from '../errors.js';
import type { RefusalCounters } from '../metrics.js';

// In the HTTP kernel: agents (agents-api/) and operators' keys (management/) are both throttled.

const WINDOW_MS = 60_000;
const MAX_BLOCK_MS = 15 * 60_000;
/** Keys tracked per kind (addresses; agent ids or API key ids): ~150 bytes each. */
const MAX_KEYS = 50_000;
/** Throttled attempts are logged at most once per this interval; the metric counts every one. */
const LOG_INTERVAL_MS = 60_000;

export interface AuthenticationGuardOptions {
  api: 'agents' | 'management';
  /** Failed authentications allowed per address, and per identity, each minute. */
  failuresPerMinute: number;
  /** The error a wrong credential is answered with: only those count as failures. */
  failure: { code: string };
  logger: Logger;
  metrics: RefusalCounters;
  now: () => number;
}

/**
 * Throttles failed authentications on one API, per source address and per identity (the agent
 * id, or the API key's id), with exponential back-off (see AuthThrottle). A throttled attempt is
 * not tried: it is answered `429 COURIER_ERR_TOO_MANY_ATTEMPTS` with `Retry-After`, counted in
 * `courier_authentication_throttled_total{api,by}`, and logged at most once a minute. A success
 * resets the identity's count; an address's count only ever runs out with time.
 */
export class AuthenticationGuard {
  private readonly byAddress: AuthThrottle;
  private readonly byIdentity: AuthThrottle;
  private readonly sweeper: NodeJS.Timeout;
  private loggedAt = -Infinity;
  private throttledSinceLog = 0;

  constructor(private readonly options: AuthenticationGuardOptions) {
    const limits = { allowance: options.failuresPerMinute, windowMs: WINDOW_MS, maxBlockMs: MAX_BLOCK_MS, maxKeys: MAX_KEYS, now: options.now };
    // A whole site behind one address (a NAT, a reverse proxy) logs in at once: only its failures count.
    // Its bursts are bounded anyway, by the cap on unauthenticated connections per address.
    this.byAddress = new AuthThrottle({ ...limits, countInFlight: false });
    // One agent does not log in many times at once: concurrent guesses at one id count before they fail.
    this.byIdentity = new AuthThrottle({ ...limits, countInFlight: true });
    this.sweeper = setInterval(() => {
      this.byAddress.sweep();
      this.byIdentity.sweep();
    }, WINDOW_MS);
    this.sweeper.unref();
  }

  /** Runs the credential check `check` unless the address or the identity is throttled; counts how it ended. */
  async attempt<T>(address: string, identity: string | null, check: () => Promise<T>): Promise<T> {
    const from = addressKey(address);
    const addressWait = this.byAddress.begin(from);
    if (addressWait > 0) throw this.throttled('address', addressWait, from, identity);
    const identityWait = identity === null ? 0 : this.byIdentity.begin(identity);
    if (identityWait > 0) {
      this.byAddress.end(from, 'neither');
      throw this.throttled('identity', identityWait, from, identity);
    }
    let outcome: 'failed' | 'succeeded' | 'neither' = 'neither';
    try {
      const result = await check();
      outcome = 'succeeded';
      return result;
    } catch (error) {
      if (error instanceof CourierError && error.code === this.options.failure.code) outcome = 'failed';
      throw error;
    } finally {
      this.byAddress.end(from, outcome);
      if (identity !== null) this.byIdentity.end(identity, outcome, true);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Addresses and identities tracked right now. */
  get tracked(): { addresses: number; identities: number } {
    return { addresses: this.byAddress.size, identities: this.byIdentity.size };
  }

  private throttled(by: 'address' | 'identity', waitS: number, address: string, identity: string | null): CourierError {
    const { api, logger, metrics } = this.options;
    metrics.countAuthenticationThrottled(api, by);
    // A flood must not flood the log too: one line per interval, with the count since the last one.
    this.throttledSinceLog++;
    const now = Date.now();
    if (now - this.loggedAt >= LOG_INTERVAL_MS) {
      logger.warn({ api, by, address, identity, retryAfterS: waitS, throttled: this.throttledSinceLog }, 'authentication attempts throttled: too many failures');
      this.loggedAt = now;
      this.throttledSinceLog = 0;
    }
    return errors.TOO_MANY_ATTEMPTS(waitS);
  }
}

/**
 * The key an address is counted under. An IPv6 client usually holds a whole /64 (2^64 addresses):
 * counted one by one, it could fail without end and fill the table, so it is counted by its /64.
 * An IPv4 address mapped into IPv6 is counted as the IPv4 address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
