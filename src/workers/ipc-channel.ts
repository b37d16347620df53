import type { Logger } from 'pino';
import { RefusalReason, type ClaimedIdentity } from '../auth/refusal-reason.js';
import { errorFromWire, errorToWire, type WireError } from '../errors.js';

/** The other end of an IPC channel: a child process seen from its parent, or `process` in the child. */
export interface IpcEndpoint {
  readonly connected: boolean;
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

type Message = [kind: string, ...args: unknown[]];
/** What a handler or procedure is kept as: the arguments are what the other side posted, typed by its caller. */
type Untyped = (...args: unknown[]) => unknown;

/**
 * Messages between courier's primary process and a connection worker. What is posted in one turn of
 * the event loop crosses as one batch (one write on the pipe, one read on the other side), in order;
 * `call` is a request answered by the other side's procedure of that name.
 */
export class IpcChannel {
  private outbox: Message[] = [];
  private flushScheduled = false;
  private nextCall = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly handlers = new Map<string, Untyped>();
  private readonly procedures = new Map<string, Untyped>();

  constructor(
    private readonly endpoint: IpcEndpoint,
    private readonly logger: Logger,
  ) {
    endpoint.on('message', (batch) => {
      if (!Array.isArray(batch)) return;
      for (const message of batch as Message[]) {
        // One message that fails must not lose the rest of its batch (an unsubscribe after it, say).
        try {
          this.receive(message);
        } catch (err) {
          this.logger.error({ err, kind: message[0] }, 'connection worker channel: a message failed');
        }
      }
    });
  }

  /** A message the other side's handler of `kind` takes; sent with the turn's others. */
  post(kind: string, ...args: unknown[]): void {
    this.outbox.push([kind, ...args]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Asks the other side's procedure `name`; rejects with the courier error it threw. */
  call<T>(name: string, ...args: unknown[]): Promise<T> {
    const id = ++this.nextCall;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post('call', id, name, args);
    });
  }

  on<A extends unknown[]>(kind: string, handler: (...args: A) => void): void {
    this.handlers.set(kind, handler as unknown as Untyped);
  }

  serve<A extends unknown[]>(name: string, procedure: (...args: A) => unknown): void {
    this.procedures.set(name, procedure as unknown as Untyped);
  }

  /** Sends what is posted now, without waiting for the end of the turn; `sent`: once it is written (before an exit). */
  flush(sent?: () => void): void {
    this.flushScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length === 0 || !this.endpoint.connected) return sent?.();
    this.endpoint.send(batch, () => sent?.());
  }

  /** The other side is gone: calls still waiting fail with `error`. */
  fail(error: Error): void {
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }

  private receive([kind, ...args]: Message): void {
    if (kind === 'call') return this.answer(args[0] as number, args[1] as string, args[2] as unknown[]);
    if (kind === 'answer') {
      const [id, ok, value] = args as [number, boolean, unknown];
      const waiter = this.waiting.get(id);
      this.waiting.delete(id);
      if (ok) waiter?.resolve(value);
      else {
        const { refusal, ...wire } = value as WireError & { refusal?: { reason: string; identity: ClaimedIdentity } };
        waiter?.reject(errorFromWire(wire, refusal && new RefusalReason(refusal.reason, refusal.identity)));
      }
      return;
    }
    const handler = this.handlers.get(kind);
    if (handler) handler(...args);
    else this.logger.error({ kind }, 'connection worker channel: a message of an unknown kind');
  }

  private answer(id: number, name: string, args: unknown[]): void {
    const procedure = this.procedures.get(name);
    const settle = (ok: boolean, value: unknown) => this.post('answer', id, ok, value);
    const failed = (error: unknown) => {
      if (errorToWire(error).statusCode === 500) this.logger.error({ err: error, call: name }, 'connection worker channel: a call failed');
      // Why a credential was refused crosses too: the log line of the refusal, written there, says it.
      const cause = (error as { cause?: unknown } | null)?.cause;
      settle(false, { ...errorToWire(error), ...(cause instanceof RefusalReason ? { refusal: { reason: cause.message, identity: cause.identity } } : {}) });
    };
    try {
      if (!procedure) throw new Error(`no procedure ${name}`);
      Promise.resolve(procedure(...args)).then((value) => settle(true, value), failed);
    } catch (error) {
      failed(error);
    }
  }
}
