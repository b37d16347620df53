import { fork, type ChildProcess } from 'node:child_process';

/**
 * A tiny request/response protocol over a forked child's IPC channel, used by the load process
 * and the raw floor server. Children may also send unsolicited `{ event, ... }` messages.
 */
type Reply = { rid: number; ok: true; value: unknown } | { rid: number; ok: false; error: string };
/** Each handler declares the arguments it expects (`never` here admits any parameter type). */
export type Handlers = Record<string, (args: never) => unknown>;

/** In the child: answers requests with `handlers[op](args)`. */
export function serveIpc(handlers: Handlers): void {
  if (!process.send) throw new Error('this module must be started with an IPC channel (child_process.fork)');
  process.on('message', (message: { rid: number; op: string; args: unknown }) => {
    const reply = (r: Reply) => process.send!(r);
    const handler = handlers[message.op];
    if (!handler) return reply({ rid: message.rid, ok: false, error: `unknown op ${message.op}` });
    Promise.resolve()
      .then(() => handler(message.args as never)) // whatever the parent sent: the handler's own shape
      .then(
        (value) => reply({ rid: message.rid, ok: true, value: value ?? null }),
        (error: unknown) => reply({ rid: message.rid, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The parent going away ends this process too.
  process.on('disconnect', () => process.exit(0));
}

/** In the parent: a forked child and calls into it. */
export class IpcChild {
  private nextRid = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  /** Forks a module of this benchmark as a child with an IPC channel. */
  static fork(modulePath: string, onEvent?: (event: never) => void): IpcChild {
    return new IpcChild(fork(modulePath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), modulePath, onEvent);
  }

  /** `child` must have been spawned with an 'ipc' stdio entry. */
  constructor(
    readonly child: ChildProcess,
    private readonly label: string,
    onEvent: (event: never) => void = () => {},
  ) {
    this.child.on('message', (message: Reply | { event: string }) => {
      if ('event' in message) return onEvent(message as never);
      const w = this.waiting.get(message.rid);
      if (!w) return;
      this.waiting.delete(message.rid);
      if (message.ok) w.resolve(message.value);
      else w.reject(new Error(message.error));
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        for (const w of this.waiting.values()) w.reject(new Error(`${this.label} exited (${signal ?? code})`));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  call<T>(op: string, args: unknown = {}): Promise<T> {
    const rid = ++this.nextRid;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(rid, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ rid, op, args });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.disconnect();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
