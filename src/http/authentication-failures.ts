import type { Logger } from 'pino';
import { RefusalReason, type ClaimedIdentity } from '../auth/refusal-reason.js';
import { CourierError, errors } from '../errors.js';
import type { HttpApp } from './app.js';
import { LogRateLimiter } from './log-rate-limiter.js';

// In the HTTP kernel: both TCP listeners (agents-api/, management/) log their refused credentials.

/**
 * The refusals of a credential: no key or token, or one that does not hold. Not here: refusals of a
 * valid key (its role, its scope: audited one by one), of an enrollment token (EnrollmentRefusals
 * logs them) and of a throttled attempt (AuthenticationGuard logs them).
 */
const CREDENTIAL_REFUSALS = new Set<string>(
  [
    errors.INVALID_KEY,
    errors.MISSING_TOKEN,
    errors.INVALID_TOKEN,
    errors.EXPIRED_TOKEN,
    errors.CLIENT_CERTIFICATE_REQUIRED,
    errors.CLIENT_CERTIFICATE_MISMATCH,
    errors.MISSING_API_KEY,
    errors.INVALID_API_KEY,
    errors.EXPIRED_API_KEY,
    errors.NOT_A_PEER,
  ].map((entry) => entry.code),
);

/** Lines logged per error code and window; the rest of the window's are summed up in one line. */
const LINES_PER_WINDOW = 10;
const WINDOW_MS = 60_000;

export interface AuthenticationFailuresOptions {
  api: 'agents' | 'management';
  logger: Logger;
  now: () => number;
  linesPerWindow?: number;
  windowMs?: number;
}

/** One refused credential, as its log line says it: never what was presented. */
interface Failure extends ClaimedIdentity {
  code: string;
  reason: string;
  address: string;
  route: string;
}

/**
 * Logs refused credentials at warn, with why and from where, and never the secret presented. A flood
 * of bad requests must not flood the log: per error code, at most `linesPerWindow` lines a minute,
 * then one line saying how many more there were (see LogRateLimiter). Every refusal is still counted
 * in `courier_refusals_total`.
 */
export class AuthenticationFailures {
  private readonly limiter: LogRateLimiter<Failure>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: AuthenticationFailuresOptions) {
    const windowMs = options.windowMs ?? WINDOW_MS;
    this.limiter = new LogRateLimiter({
      perWindow: options.linesPerWindow ?? LINES_PER_WINDOW,
      windowMs,
      now: options.now,
      suppressed: ({ count, since, last }) =>
        options.logger.warn(
          { api: options.api, code: last.code, suppressed: count, since: new Date(since).toISOString(), lastAddress: last.address, lastReason: last.reason },
          'authentication failures suppressed',
        ),
    });
    this.sweeper = setInterval(() => this.limiter.sweep(), windowMs);
    this.sweeper.unref();
  }

  /** Logs `error` if it refuses a credential (unless its code has had its lines this window). */
  record(error: unknown, address: string, route: string): void {
    if (!(error instanceof CourierError) || !CREDENTIAL_REFUSALS.has(error.code)) return;
    const failure: Failure = { code: error.code, ...reasonOf(error), address, route };
    if (this.limiter.admit(error.code, failure)) this.options.logger.warn({ api: this.options.api, ...failure }, 'authentication failed');
  }

  /** Ends the summaries' sweeps, telling what is held back so far. */
  close(): void {
    clearInterval(this.sweeper);
    this.limiter.flush();
  }

  /** Ends the windows whose time is up now (the sweep's work, for tests that move the clock). */
  sweep(): void {
    this.limiter.sweep();
  }
}

/**
 * Why, in words: the reason courier noted (an unknown agent, a wrong key…), else a library's error
 * code (never its message, which may quote what was presented), else the answer's own message.
 */
function reasonOf(error: CourierError): { reason: string } & ClaimedIdentity {
  const cause = error.cause;
  if (cause instanceof RefusalReason) return { reason: cause.message, ...cause.identity };
  const code = (cause as { code?: unknown } | undefined)?.code;
  return { reason: typeof code === 'string' ? code : error.message };
}

/** Logs every refused credential a listener answers (the errors its routes and hooks throw). */
export function logAuthenticationFailures(app: HttpApp, failures: AuthenticationFailures): void {
  app.addHook('onError', async (request, _reply, error) => {
    failures.record(error, request.ip, `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`);
  });
  app.addHook('onClose', async () => failures.close());
}
