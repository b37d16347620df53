/**
 * A bounded FIFO of items stamped with a time. Full, it drops the oldest item, so memory
 * stays bounded however fast items arrive; `push` and `shift` are O(1) and allocate nothing.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private readonly times: Float64Array;
  private head = 0;
  private length = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('capacity must be positive');
    this.items = new Array<T | undefined>(capacity);
    this.times = new Float64Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  /** Appends an item; returns true if the oldest item was dropped to make room. */
  push(item: T, at: number): boolean {
    const dropped = this.length === this.capacity;
    const index = (this.head + this.length) % this.capacity;
    this.items[index] = item;
    this.times[index] = at;
    if (dropped) this.head = (this.head + 1) % this.capacity;
    else this.length++;
    return dropped;
  }

  /** Removes and returns the oldest item with its time, or undefined when empty. */
  shift(): { item: T; at: number } | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head] as T;
    const at = this.times[this.head]!;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return { item, at };
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.length = 0;
  }
}
