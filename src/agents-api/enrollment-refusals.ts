import type { Logger } from 'pino';
import type { CourierError } from '../errors.js';
import { RefusalThrottle, type RefusalSummary } from '../http/refusal-throttle.js';
import type { OperatorStore } from '../store/operator-store.js';

export interface EnrollmentRefusalsOptions {
  store: OperatorStore;
  node: string;
  now: () => number;
  logger: Logger;
  /** Refusals of one kind (address, reason) are recorded at most once per window (ms). */
  windowMs?: number;
}

const ROUTE = 'POST /api/v1/enroll';
/** How a kind of refusal names the token whose secret matched (see `record`). */
const TOKEN_SUFFIX = /, token ([0-9a-f]{16})$/;

const actorOf = (tokenId: string | null | undefined) => (tokenId ? `enrollment-token:${tokenId}` : 'anonymous');
const WINDOW_MS = 60_000;
const MAX_KINDS = 10_000;

/**
 * Refused enrollments, in the log and in the audit trail as `refusal` entries. Whoever enrolls
 * has no identity yet (a token is shared by a whole fleet), so, like anonymous refusals on the
 * management API, each kind (address, reason) is written at most once a minute and the rest are
 * counted into one summary entry: a flood of bad tokens cannot grow the trail or the log without
 * bound. The actor is `enrollment-token:<id>` once the token's secret matched, else `anonymous`.
 */
export class EnrollmentRefusals {
  private readonly throttle: RefusalThrottle;
  private readonly sweeper: NodeJS.Timeout;
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly options: EnrollmentRefusalsOptions) {
    const windowMs = options.windowMs ?? WINDOW_MS;
    this.throttle = new RefusalThrottle({
      windowMs,
      maxKinds: MAX_KINDS,
      now: options.now,
      // Not awaited here: the write is tracked (close() waits for it) and never rejects.
      summarize: (summary) => void this.track(this.recordSummary(summary)),
    });
    this.sweeper = setInterval(() => this.throttle.sweep(), windowMs);
    this.sweeper.unref();
  }

  /** Records a refused enrollment (unless one of its kind was recorded within the window). Never throws. */
  async record(address: string, error: CourierError, tokenId: string | null): Promise<void> {
    const reason = `${error.message} (${error.code})`;
    // One kind per token: the refusals of one token (e.g. expired, still in a provisioning script) are not hidden by another's.
    if (!this.throttle.admit({ address, route: ROUTE, reason: tokenId ? `${reason}, token ${tokenId}` : reason })) return;
    this.options.logger.warn({ address, code: error.code, token: tokenId, reason: error.message }, 'agent enrollment refused');
    await this.track(this.write(actorOf(tokenId), `${ROUTE}: ${reason} from ${address}`));
  }

  /** Shutdown: the refusals held back so far are written as their summaries. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.throttle.flush();
    await Promise.all(this.writes);
  }

  private recordSummary({ address, reason, count, since }: RefusalSummary): Promise<void> {
    this.options.logger.warn({ address, reason, count }, 'agent enrollments refused (summary)');
    const detail = `${ROUTE}: ${count} more refused (${reason}) from ${address} since ${new Date(since).toISOString()}, not recorded one by one`;
    return this.write(actorOf(TOKEN_SUFFIX.exec(reason)?.[1]), detail);
  }

  private async write(actor: string, detail: string): Promise<void> {
    try {
      await this.options.store.recordRefusal({ document_id: null, at: this.options.now(), node: this.options.node, actor, detail });
    } catch (err) {
      this.options.logger.error({ err }, 'cannot record a refused enrollment in the audit trail');
    }
  }

  private track(write: Promise<void>): Promise<void> {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
    return write;
  }
}
