import { Heap } from 'heap-js';

/** Below this many entries a queue is never pruned on push. */
const MIN_PRUNE = 64;

/**
 * The pending commands of one route (agent or server component), oldest first by creation
 * time, then `seq`, so that a target receives its commands in creation order, also after a
 * failed delivery puts one back. Entries are removed lazily: the dispatcher skips ids that are
 * no longer pending, and a push that finds the queue doubled since its last pruning drops
 * them (commands of an offline agent that time out or are cancelled would otherwise pile up).
 */
export class RouteQueue {
  private readonly heap = new Heap<{ createdAt: number; seq: number; id: string }>((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
  private pruneAt = MIN_PRUNE;

  constructor(private readonly isPending: (id: string) => boolean) {}

  get size(): number {
    return this.heap.size();
  }

  push(createdAt: number, seq: number, id: string): void {
    this.heap.push({ createdAt, seq, id });
    if (this.heap.size() >= this.pruneAt) this.prune();
  }

  /** Drops the entries that are no longer pending; O(n), at most once per doubling. Returns the size left. */
  prune(): number {
    this.heap.init(this.heap.toArray().filter((entry) => this.isPending(entry.id)));
    this.pruneAt = Math.max(MIN_PRUNE, 2 * this.heap.size());
    return this.heap.size();
  }

  /** Takes up to `max` pending ids, in order. */
  take(max: number): string[] {
    const ids: string[] = [];
    while (ids.length < max) {
      const next = this.heap.pop();
      if (!next) break;
      if (this.isPending(next.id)) ids.push(next.id);
    }
    return ids;
  }
}
