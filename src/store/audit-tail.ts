import type { AuditEntry, AuditFilter, OperatorStore } from './operator-store.js';

/** Entries read from the trail at a time. */
const PAGE = 500;

/**
 * Follows the audit trail from a cursor (an audit id): each `pump` reads every entry after it
 * matching the filter, page by page, and hands each on in order, the cursor moving past it. A pump
 * asked for while one runs makes that one go round again, so a wake-up is never lost and no entry
 * is handed on twice. The trail is durable: a follower that resumes from its cursor misses nothing.
 */
export class AuditTail {
  private pumping = false;
  private again = false;

  constructor(
    private readonly store: Pick<OperatorStore, 'queryAudit'>,
    private readonly filter: AuditFilter,
    private cursor: string,
    /** Takes one entry; a promise holds the pump until it settles (a slow reader). */
    private readonly deliver: (entry: AuditEntry) => unknown,
    /** The follower is gone: the pump stops. */
    private readonly closed: () => boolean,
  ) {}

  /** The id of the last entry handed on. */
  get position(): string {
    return this.cursor;
  }

  /** Hands on everything after the cursor; rejects when the trail cannot be read. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        let next: string | null = this.cursor;
        while (next !== null && !this.closed()) {
          const page = await this.store.queryAudit(this.filter, { limit: PAGE, cursor: this.cursor });
          for (const entry of page.items) {
            if (this.closed()) break;
            this.cursor = entry.id;
            await this.deliver(entry);
          }
          next = page.next;
        }
      } while (this.again && !this.closed());
    } finally {
      this.pumping = false;
    }
  }
}
