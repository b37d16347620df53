import { Heap } from 'heap-js';
import { errors } from '../errors.js';

/**
 * All command deadlines of a supervisor behind one timer: a min-heap of (time, id).
 * Entries are not removed one by one; a stale one (the command finished, or its deadline moved)
 * is harmless because the command machine's guard compares the event time with its own deadline.
 * But finished commands would otherwise leave theirs behind until they come due (up to the
 * delivery timeout later: at a few thousand commands per second, millions of entries), so when
 * the heap has doubled since it was last swept, the entries `isStale` names are dropped.
 */
export interface Deadline {
  at: number;
  id: string;
}

/** Node's timers overflow above 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;
/** Below this many entries the heap is never swept. */
const MIN_SWEEP = 4096;

export class DeadlineQueue {
  private readonly heap = new Heap<Deadline>((a, b) => a.at - b.at);
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private sweepAt = MIN_SWEEP;

  constructor(
    private readonly now: () => number,
    private readonly onDue: (due: Deadline[]) => void,
    private readonly isStale: (deadline: Deadline) => boolean = () => false,
  ) {}

  get size(): number {
    return this.heap.size();
  }

  /**
   * Throws (COURIER_ERR_INVALID_COMMAND_TIME) for a time that is not finite, and keeps nothing:
   * NaN compares as neither earlier nor later, so at the top of the heap it would never come due
   * and would hold back every deadline behind it. "Due now" would hide the bad value; the caller
   * is told instead, and the queue stays as it was.
   */
  add(at: number, id: string): void {
    if (!Number.isFinite(at)) throw errors.INVALID_COMMAND_TIME(id, 'deadline', at);
    this.heap.push({ at, id });
    if (this.heap.size() >= this.sweepAt) this.sweep();
    if (at < this.armedFor) this.arm();
  }

  /** Drops stale entries; O(n), and at most once per doubling of the heap, so O(1) per add. */
  private sweep(): void {
    this.heap.init(this.heap.toArray().filter((d) => !this.isStale(d)));
    this.sweepAt = Math.max(MIN_SWEEP, 2 * this.heap.size());
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    this.arm();
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
