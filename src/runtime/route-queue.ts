import { Heap } from 'heap-js';

/**
 * The pending commands of one route (agent or server component), oldest first by creation
 * time, then `seq`,
 * so that a target receives its commands in creation order, also after a failed delivery
 * puts one back. Entries are removed lazily: the dispatcher skips ids that are no longer pending.
 */
export class RouteQueue {
  private readonly heap = new Heap<{ createdAt: number; seq: number; id: string }>((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);

  get size(): number {
    return this.heap.size();
  }

  push(createdAt: number, seq: number, id: string): void {
    this.heap.push({ createdAt, seq, id });
  }

  /** Takes up to `max` ids for which `isPending` holds, in order. */
  take(max: number, isPending: (id: string) => boolean): string[] {
    const ids: string[] = [];
    while (ids.length < max) {
      const next = this.heap.pop();
      if (!next) break;
      if (isPending(next.id)) ids.push(next.id);
    }
    return ids;
  }
}
