import { Worker } from 'node:worker_threads';
import { errors } from '../../errors.js';
import type { WriteBatch, WriteOutcome } from '../store.js';
import { encodeWriteBatch, type WireBatch } from './write-batch-wire.js';

export interface WriterStart {
  file: string;
  synchronous: 'normal' | 'full';
}

/** A batch crosses flat (see write-batch-wire.ts). */
export type WriterRequest = { close?: false; id: number; batch: WireBatch } | { close: true };

/** What the writer thread answers for one batch: its outcome, or what SQLite threw (name, message, code). */
export type WriterReply = { id: number; outcome: WriteOutcome; error?: undefined } | { id: number; error: { name: string; message: string; code?: string } };

type Settle = { resolve: (outcome: WriteOutcome) => void; reject: (error: unknown) => void };

/**
 * The embedded store's writes, committed on a thread of their own (see sqlite-writer-worker.ts):
 * a batch is handed over as a message and its promise settles once the transaction is committed
 * (or failed), so a command acknowledged after `commit` resolves is as durable as before. Reads stay
 * on the store's own connection: in WAL mode they see every committed batch and never wait for one.
 * The thread starts with the first batch, and again after it died (its batches then fail as
 * `COURIER_ERR_STORE_UNAVAILABLE`, which the write batcher retries).
 */
export class SqliteWriter {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Settle>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly start: WriterStart) {}

  commit(batch: WriteBatch): Promise<WriteOutcome> {
    if (this.closed) return Promise.reject(errors.STORE_UNAVAILABLE('the store is closed'));
    const worker = this.worker ?? this.spawn();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const wire = encodeWriteBatch(batch);
      // Held by the process only while a batch is under way: an idle writer never keeps it alive.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, batch: wire } satisfies WriterRequest);
    });
  }

  /** Lets the batches already handed over commit, then stops the thread. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ close: true } satisfies WriterRequest);
    await exited;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./sqlite-writer-worker.js', import.meta.url), {
      workerData: this.start satisfies WriterStart,
      // Not the process's own flags (e.g. `--input-type`, `--cpu-prof`): they are not the thread's.
      execArgv: [],
    });
    worker.unref();
    worker.on('message', (reply: WriterReply) => this.settle(reply));
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`the store's writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(reply: WriterReply): void {
    const settle = this.pending.get(reply.id);
    if (!settle) return;
    this.pending.delete(reply.id);
    // A closing writer stays held until its thread has exited (see `close`).
    if (this.pending.size === 0 && !this.closed) this.worker?.unref();
    if (reply.error === undefined) settle.resolve(reply.outcome);
    else settle.reject(asSqliteError(reply.error));
  }

  /** The thread died: every batch it held fails as the store being unavailable (nothing of them is known committed). */
  private lost(worker: Worker, cause: unknown): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const failure = errors.STORE_UNAVAILABLE.causedBy(cause, cause instanceof Error ? cause.message : String(cause));
    for (const settle of this.pending.values()) settle.reject(failure);
    this.pending.clear();
  }
}

/** An error as SQLite threw it in the writer thread, with its code, for `toStoreFailure`. */
function asSqliteError(e: { name: string; message: string; code?: string }): Error {
  const error = e.name === 'TypeError' ? new TypeError(e.message) : new Error(e.message);
  if (e.code !== undefined) Object.assign(error, { code: e.code });
  return error;
}
