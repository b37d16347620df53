import { Heap } from 'heap-js';

/**
 * All command deadlines of a supervisor behind one timer: a min-heap of (time, id).
 * Entries are never removed early; a stale one (the command finished, or its deadline moved)
 * is harmless because the command machine's guard compares the event time with its own deadline.
 */
export interface Deadline {
  at: number;
  id: string;
}

/** Node's timers overflow above 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export class DeadlineQueue {
  private readonly heap = new Heap<Deadline>((a, b) => a.at - b.at);
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly onDue: (due: Deadline[]) => void,
  ) {}

  get size(): number {
    return this.heap.size();
  }

  add(at: number, id: string): void {
    this.heap.push({ at, id });
    if (at < this.armedFor) this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
  }

  /** Pops and reports every deadline that is due now, then re-arms for the next one. */
  fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = this.now();
    const due: Deadline[] = [];
    while ((this.heap.peek()?.at ?? Infinity) <= now) due.push(this.heap.pop()!);
    if (due.length > 0) this.onDue(due);
    this.arm();
  }

  private arm(): void {
    const next = this.heap.peek();
    if (!next) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = next.at;
    const delay = Math.min(Math.max(0, next.at - this.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }
}
