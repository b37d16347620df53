import type { Logger } from 'pino';
import { AuditTail } from '../store/audit-tail.js';
import type { OperatorStore } from '../store/operator-store.js';
import { auditView } from '../operator-routes/query-routes.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { CourierEvent, EventsApi, ListenOptions } from './courier-api.js';

/** How often a listener reads the trail without being woken (entries written outside the transition batches: refusals). */
const IDLE_READ_MS = 15_000;

/**
 * The live feed of the audit trail in process, as `/api/v1/events/stream` serves it on the sockets:
 * read from the durable trail after a cursor, woken by every commit, so a listener misses nothing
 * and is handed nothing twice. A listener that throws is logged and goes on; a trail that cannot be
 * read is tried again at the next wake-up, from the same cursor.
 */
export class TransitionFeed implements EventsApi {
  private readonly stops = new Set<() => void>();

  constructor(
    private readonly store: OperatorStore,
    private readonly supervisor: Supervisor,
    private readonly logger: Logger,
  ) {}

  listen(listener: (event: CourierEvent) => unknown, options: ListenOptions = {}): () => void {
    if (typeof listener !== 'function') throw new TypeError('listen takes a function');
    let stopped = false;
    let tail: AuditTail | null = null;
    const deliver = (entry: Parameters<typeof auditView>[0]): void => {
      try {
        void Promise.resolve(listener(auditView(entry))).catch((err: unknown) => this.logger.error({ err }, 'an event listener failed'));
      } catch (err) {
        this.logger.error({ err }, 'an event listener failed');
      }
    };
    // From now on (the newest id when the listener starts), or after the id given.
    const tailed = async (): Promise<AuditTail> => {
      const cursor = options.after ?? (await this.store.latestAuditId());
      return (tail ??= new AuditTail(this.store, { ...options.filter }, cursor, deliver, () => stopped));
    };
    const pump = (): void => {
      if (stopped) return;
      void (tail ? tail.pump() : tailed().then((t) => t.pump())).catch((err: unknown) =>
        this.logger.warn({ err }, 'the audit trail cannot be read now; the feed reads it again at its next wake-up'),
      );
    };
    pump();
    const unsubscribe = this.supervisor.onCommitted(pump);
    const idle = setInterval(pump, IDLE_READ_MS);
    idle.unref();
    const stop = (): void => {
      stopped = true;
      unsubscribe();
      clearInterval(idle);
      this.stops.delete(stop);
    };
    this.stops.add(stop);
    return stop;
  }

  /** Stops every listener (the runtime is closing). */
  close(): void {
    for (const stop of [...this.stops]) stop();
  }
}
