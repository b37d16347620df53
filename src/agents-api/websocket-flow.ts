import type { WebSocket } from 'ws';

/** What one agent WebSocket may hold. */
export interface WebSocketLimits {
  /** Most commands pushed and not yet acked. */
  maxInFlight: number;
  /** Most bytes waiting to be written out to the socket (`bufferedAmount`). */
  maxBufferedBytes: number;
  /** How long the socket may owe (bytes waiting, or at its in-flight bound) without any progress (ms). */
  stallTimeoutMs: number;
}

export interface WebSocketFlowHooks {
  /** Commands pushed to the socket (or claimed for it) and not yet acked, now. */
  inFlight(): number;
  /** The socket had been refused commands and has made progress since: dispatch to it may resume. */
  resumed(): void;
  /** No progress within the stall timeout: the socket is to be closed. */
  stalled(): void;
  /** The bytes waiting to be written out crossed the bound (true) or fell back under it (false). */
  congested?(over: boolean): void;
  /**
   * Brings what `inFlight` reads up to date before a stall is decided: with a supervisor in another
   * process it is a copy, which commands leaving unseen (a deadline, a cancel) do not lower.
   */
  refreshInFlight?(): Promise<void>;
}

/**
 * Back-pressure for one agent WebSocket. The supervisor asks `room` before handing it commands:
 * none past `maxInFlight` unacked, none while `maxBufferedBytes` or more wait to be written out;
 * they stay pending, for the agent's other connections. Progress (a frame written out, an ack or a
 * result) resumes dispatch. While over the byte bound the socket's own frames are not read either: a client
 * that never reads must not make courier buffer answers to what it sends. A socket that owes
 * (bytes waiting, or at its in-flight bound) and makes no progress for `stallTimeoutMs` is stalled.
 */
export class WebSocketFlow {
  /** `room` answered 0: a progress must wake the route. */
  private held = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Over the byte bound, as last told to `hooks.congested`. */
  private wasOver = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: WebSocketLimits,
    private readonly hooks: WebSocketFlowHooks,
  ) {}

  /** How many more commands the socket may take now, with `inFlight` unacked. */
  room(inFlight: number): number {
    const room = this.overBytes ? 0 : Math.max(0, this.limits.maxInFlight - inFlight);
    if (room === 0) this.hold();
    return room;
  }

  /** The socket was refused commands (it had no room): its next progress must resume dispatch. */
  hold(): void {
    this.held = true;
    this.watch();
  }

  /** Sends a frame (as JSON text); its being written out is progress. */
  send(frame: object): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify(frame), (error) => {
      if (!error) this.progress();
    });
    if (this.owes()) this.watch();
    if (this.overBytes && !ws.isPaused) ws.pause();
    this.tellCongestion();
  }

  /** Commands left the socket's in flight (acked, or their result reported): progress. */
  settled(): void {
    this.progress();
  }

  /** The socket closed. */
  stop(): void {
    this.unwatch();
  }

  private get overBytes(): boolean {
    return this.ws.bufferedAmount >= this.limits.maxBufferedBytes;
  }

  private tellCongestion(): void {
    if (this.hooks.congested === undefined || this.overBytes === this.wasOver) return;
    this.wasOver = !this.wasOver;
    this.hooks.congested(this.wasOver);
  }

  private owes(): boolean {
    return this.ws.bufferedAmount > 0 || this.hooks.inFlight() >= this.limits.maxInFlight;
  }

  private progress(): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.isPaused && !this.overBytes) ws.resume();
    this.tellCongestion();
    // The stall clock starts over from this progress, or stops if nothing is owed any more.
    if (!this.owes()) this.unwatch();
    else if (this.stallTimer) this.stallTimer.refresh();
    else this.watch();
    if (this.held) {
      this.held = false;
      this.hooks.resumed();
    }
  }

  /** Starts the stall clock unless it runs already: more owed is not progress. */
  private watch(): void {
    this.stallTimer ??= setTimeout(() => {
      this.stallTimer = undefined;
      // Commands may have left it unseen (a deadline, a claim lost): then it has room, and is not stuck.
      const decide = () => {
        if (this.owes()) this.hooks.stalled();
        else this.progress();
      };
      if (this.hooks.refreshInFlight) void this.hooks.refreshInFlight().then(decide, decide);
      else decide();
    }, this.limits.stallTimeoutMs).unref();
  }

  private unwatch(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}
