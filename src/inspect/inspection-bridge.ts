import type { ActorRefLike, AnyActorRef, InspectionEvent } from 'xstate';
import type { InspectObserver } from '../runtime/actor-observers.js';
import { RingBuffer } from './ring-buffer.js';
import { StatelyFormat, type ConvertibleEvent } from './stately-format.js';

export interface InspectionBridgeOptions {
  /** Live root actors to announce to a viewer that connects (the supervisor's own first). */
  liveActors?: () => Iterable<AnyActorRef>;
  /** Most inspection events held for the viewers; beyond it the oldest are dropped (counted). */
  capacity?: number;
  /** Most new root actors followed per second; the others are not shown (counted). */
  newActorsPerSecond?: number;
  /** Most live actors announced when a viewer connects. */
  announceOnConnect?: number;
  /** Most events serialised per turn of the event loop. */
  batch?: number;
}

/** A viewer: receives each inspection message as JSON text. */
export type InspectionSink = (json: string) => void;

export interface InspectionStats {
  viewers: number;
  buffered: number;
  sent: number;
  /** Dropped because the buffer was full (viewers slower than the actors). */
  dropped: number;
  /** New actors not followed because of the per-second limit. */
  sampledOut: number;
  /** Events that could not be converted. */
  failed: number;
}

/**
 * Between the actors and the inspector's viewers. The observer it hands to the actors runs on
 * the dispatch path, so it only ever does O(1) work and never throws:
 * - with no viewer connected it returns at once;
 * - it keeps only what the Stately inspector draws (`@xstate.actor`, `@xstate.event`,
 *   `@xstate.snapshot`), and only for followed actors: a new root actor is followed while fewer
 *   than `newActorsPerSecond` were this second, and children of followed actors always are;
 * - it keeps a reference in a bounded ring buffer (XState snapshots are immutable).
 * Converting, redacting and serialising happen later, in `setImmediate` batches.
 */
export class InspectionBridge {
  readonly observer: InspectObserver;
  private readonly sinks = new Set<InspectionSink>();
  private readonly buffer: RingBuffer<ConvertibleEvent>;
  private readonly format = new StatelyFormat();
  private followed = new WeakSet<ActorRefLike>();
  private windowStart = 0;
  private admittedInWindow = 0;
  private flushScheduled = false;
  private readonly counts = { sent: 0, dropped: 0, sampledOut: 0, failed: 0 };
  private readonly newActorsPerSecond: number;
  private readonly announceOnConnect: number;
  private readonly batch: number;

  constructor(private readonly options: InspectionBridgeOptions = {}) {
    this.buffer = new RingBuffer(options.capacity ?? 10_000);
    this.newActorsPerSecond = options.newActorsPerSecond ?? 20;
    this.announceOnConnect = options.announceOnConnect ?? 100;
    this.batch = options.batch ?? 500;
    this.observer = (event) => {
      if (this.sinks.size === 0) return;
      try {
        this.capture(event);
      } catch {
        this.counts.failed++;
      }
    };
  }

  /** Adds a viewer; it is sent the live actors, then everything followed. Returns its removal. */
  attach(sink: InspectionSink): () => void {
    this.sinks.add(sink);
    this.announce();
    return () => {
      if (!this.sinks.delete(sink) || this.sinks.size > 0) return;
      // Nobody is looking any more: forget everything.
      this.buffer.clear();
      this.followed = new WeakSet();
    };
  }

  stats(): InspectionStats {
    return { viewers: this.sinks.size, buffered: this.buffer.size, ...this.counts };
  }

  private capture(event: InspectionEvent): void {
    switch (event.type) {
      case '@xstate.actor':
        if (!this.follow(event.actorRef)) return;
        break;
      case '@xstate.event':
      case '@xstate.snapshot':
        if (!this.followed.has(event.actorRef)) return;
        break;
      default:
        return; // microsteps and actions: the inspector draws from events and snapshots
    }
    this.enqueue(event);
  }

  private follow(actor: ActorRefLike): boolean {
    const parent = (actor as { _parent?: ActorRefLike })._parent;
    if (parent) {
      if (!this.followed.has(parent)) return false;
    } else {
      const now = Date.now();
      if (now - this.windowStart >= 1000) {
        this.windowStart = now;
        this.admittedInWindow = 0;
      }
      if (this.admittedInWindow >= this.newActorsPerSecond) {
        this.counts.sampledOut++;
        return false;
      }
      this.admittedInWindow++;
    }
    this.followed.add(actor);
    return true;
  }

  private enqueue(event: ConvertibleEvent): void {
    if (this.buffer.push(event, Date.now())) this.counts.dropped++;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Tells viewers about actors that started before they connected (up to `announceOnConnect`). */
  private announce(): void {
    const actors = this.options.liveActors?.();
    if (!actors) return;
    let announced = 0;
    for (const actor of actors) {
      if (announced++ >= this.announceOnConnect) break;
      this.followed.add(actor);
      this.enqueue({ type: '@xstate.actor', actorRef: actor, rootId: actor.sessionId });
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (let i = 0; i < this.batch; i++) {
      const next = this.buffer.shift();
      if (!next) return;
      let json: string;
      try {
        json = JSON.stringify(this.format.toMessage(next.item, next.at));
      } catch {
        this.counts.failed++;
        continue;
      }
      for (const sink of this.sinks) {
        try {
          sink(json);
        } catch {
          this.counts.failed++;
        }
      }
      this.counts.sent++;
    }
    if (this.buffer.size > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }
}
