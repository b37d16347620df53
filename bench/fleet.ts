import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcChild } from './ipc.js';
import type { ConnectArgs, Counters } from './load/main.js';
import type { Pauses } from './pauses.js';

const LOAD_MAIN = join(dirname(fileURLToPath(import.meta.url)), 'load', 'main.js');

/** The driver's handle on the load process (simulated agents in a separate process). */
export class Fleet {
  private readonly ipc: IpcChild;
  /** The latest counters the load process reported (while progress reporting is on). */
  latest: Counters = { connected: 0, received: 0, completed: 0, errors: 0, lastError: null };
  private progressWaiters: (() => void)[] = [];

  constructor() {
    this.ipc = IpcChild.fork(LOAD_MAIN, (event: Counters & { event: string }) => {
      if (event.event !== 'progress') return;
      this.latest = event;
      for (const w of this.progressWaiters.splice(0)) w();
    });
  }

  connect(args: ConnectArgs): Promise<{ connected: number; failed: number }> {
    return this.ipc.call('connect', args);
  }

  disconnect(): Promise<void> {
    return this.ipc.call('disconnect');
  }

  counters(): Promise<Counters> {
    return this.ipc.call('counters');
  }

  /** Latency samples (ms) of the commands tagged `tag`, once `count` have arrived. */
  latencies(tag: string, count: number, timeoutMs: number): Promise<number[]> {
    return this.ipc.call('latencies', { tag, count, timeoutMs });
  }

  /** The commands tagged `tag` as they arrived (document_id, wall-clock ms), once `count` have. */
  arrivals(tag: string, count: number, timeoutMs: number): Promise<{ id: string; at: number }[]> {
    return this.ipc.call('arrivals', { tag, count, timeoutMs });
  }

  /** Garbage-collection pauses and event-loop delay of the load process since the last call. */
  pauses(): Promise<Pauses> {
    return this.ipc.call('pauses');
  }

  /** Turns progress events on (every `intervalMs`) or off (0). */
  progress(intervalMs: number): Promise<void> {
    return this.ipc.call('progress', { intervalMs });
  }

  /** Resolves at the next progress event. */
  nextProgress(): Promise<void> {
    return new Promise((resolve) => this.progressWaiters.push(resolve));
  }

  close(): Promise<void> {
    return this.ipc.close();
  }
}
