import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requestJson } from '../src/http-client.js';
import { sleep } from './clock.js';
import { IpcChild } from './ipc.js';
import type { Pauses } from './pauses.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled CLI and the measurement probe, next to this file in dist/. */
const CLI = join(here, '..', 'src', 'cli', 'main.js');
const PROBE = join(here, 'courier-probe.js');
/** The flags courier's launcher runs Node with (its first line): the bench measures courier as it is run. */
const NODE_FLAGS = readFileSync(join(here, '..', '..', 'bin', 'courier.js'), 'utf8')
  .split('\n')[0]!
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

export interface CourierNodeOptions {
  dataDir: string;
  /** Extra `courier serve` flags. */
  args?: string[];
}

/** A log line of courier (pino JSON): its message and time (ms since epoch). */
interface LogLine {
  msg?: string;
  time?: number;
  [key: string]: unknown;
}

export interface MemoryReading {
  /** Resident set size (bytes), from `process_resident_memory_bytes` of `/metrics`. */
  rss: number;
  /** V8 heap in use (bytes) after the collection, and reserved for it. */
  heapUsed: number;
  heapTotal: number;
  /** Memory outside the V8 heap held by JS objects (Buffers, sockets' native parts), bytes. */
  external: number;
}

/**
 * `courier serve` as a process of its own, on loopback and an ephemeral port, with the admin
 * plane reached through its Unix socket, and a measurement probe preloaded (see courier-probe.ts).
 */
export class CourierNode {
  private readonly keepAlive = new Agent({ keepAlive: true, maxSockets: 16 });

  private constructor(
    readonly child: ChildProcess,
    private readonly probe: IpcChild,
    readonly url: string,
    readonly socket: string,
    readonly logs: LogLine[],
    private readonly exited: Promise<number | null>,
    /** The CA its listeners' certificate is signed by, when it serves TLS (PEM). */
    readonly ca?: string,
  ) {}

  static start(options: CourierNodeOptions): Promise<CourierNode> {
    const child = spawn(
      process.execPath,
      [
        ...NODE_FLAGS,
        ...['--expose-gc', '--import', PROBE, CLI, 'serve'],
        // Every listener on loopback and an ephemeral port: nothing collides with another node.
        ...['--host', '127.0.0.1', '--port', '0', '--management-host', '127.0.0.1', '--management-port', '0'],
        // Every simulated agent connects from 127.0.0.1: the cap on unauthenticated connections per
        // address, sized for one host (or one NAT), would be the whole fleet's while it connects.
        ...['--max-unauthenticated-per-address', '1000000'],
        // Courier's own process serves the agents unless a scenario says otherwise (the workers
        // scenario): the figures do not move with the machine's cores.
        ...['--workers', '1'],
        // Plain HTTP unless a scenario gives TLS options (the TLS scenario measures what TLS costs).
        ...(options.args?.some((a) => a.startsWith('--tls')) ? [] : ['--insecure-http']),
        ...['--data-dir', options.dataDir, ...(options.args ?? [])],
      ],
      { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    const probe = new IpcChild(child, 'courier');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stderr: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(chunk.toString());
      if (stderr.length > 50) stderr.shift();
    });
    const logs: LogLine[] = [];
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let entry: LogLine;
        try {
          const raw = JSON.parse(line) as LogLine & { time?: unknown };
          // courier writes ISO times; what the bench computes with is ms since the epoch.
          entry = { ...raw, time: typeof raw.time === 'string' ? Date.parse(raw.time) : raw.time };
        } catch {
          return;
        }
        if (typeof entry.level === 'number' && entry.level >= 50) process.stderr.write(`courier: ${line}\n`);
        logs.push(entry);
        if (entry.msg === 'courier is running') {
          const tls = entry.tls as { caFile?: string } | undefined;
          const ca = tls?.caFile ? readFileSync(tls.caFile, 'utf8') : undefined;
          resolve(new CourierNode(child, probe, entry.url as string, entry.socket as string, logs, exited, ca));
        }
      });
      void exited.then((code) => reject(new Error(`courier exited (${code}) before it was running: ${stderr.join('')}`)));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first log line with this message. */
  log(msg: string): LogLine | undefined {
    return this.logs.find((l) => l.msg === msg);
  }

  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    return requestJson({ socketPath: this.socket, method, path, agent: this.keepAlive, ...(body !== undefined ? { body } : {}) });
  }

  /** Registers agents (members of `groups`) and returns their keys; `concurrency` requests at a time. */
  async registerAgents(ids: string[], groups: string[], concurrency = 8): Promise<{ id: string; key: string }[]> {
    const out = new Array<{ id: string; key: string }>(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        const res = await this.admin('POST', '/api/v1/agents', { id: ids[i], groups });
        if (res.status !== 201) throw new Error(`registering ${ids[i]}: ${res.status} ${JSON.stringify(res.body)}`);
        out[i] = { id: ids[i]!, key: (res.body as { key: string }).key };
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  }

  /** Creates commands through the admin socket; resolves once courier answers 201 (durable). */
  async submit(commands: object[]): Promise<Record<string, unknown>[]> {
    const res = await this.admin('POST', '/api/v1/commands', { commands });
    if (res.status !== 201) throw new Error(`POST /api/v1/commands: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
    return (res.body as { commands: Record<string, unknown>[] }).commands;
  }

  /** Prometheus samples by name with labels, e.g. `courier_subscriptions{mode="websocket"}`. */
  async metrics(): Promise<Map<string, number>> {
    const res = await this.admin('GET', '/metrics');
    const samples = new Map<string, number>();
    for (const line of String(res.body).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      samples.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return samples;
  }

  /** CPU time courier's process has used so far (user + system), in seconds. */
  async cpuSeconds(): Promise<number> {
    return (await this.metrics()).get('process_cpu_seconds_total') ?? NaN;
  }

  /**
   * Courier's own dispatch-latency histogram (`courier_dispatch_latency_seconds`): cumulative
   * counts by upper bound in ms.
   */
  async dispatchHistogram(): Promise<{ le: number; count: number }[]> {
    const buckets: { le: number; count: number }[] = [];
    for (const [name, count] of await this.metrics()) {
      const le = /^courier_dispatch_latency_seconds_bucket\{le="([^"]+)"\}$/.exec(name)?.[1];
      if (le !== undefined) buckets.push({ le: le === '+Inf' ? Infinity : Number(le) * 1000, count });
    }
    return buckets.sort((a, b) => a.le - b.le);
  }

  /** Waits until courier counts `count` live subscriptions of `mode`. */
  async waitForSubscriptions(mode: 'websocket' | 'long-poll', count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = -1;
    while (Date.now() < deadline) {
      seen = (await this.metrics()).get(`courier_subscriptions{mode="${mode}"}`) ?? 0;
      if (seen === count) return;
      await sleep(100);
    }
    throw new Error(`courier has ${seen} ${mode} subscriptions, expected ${count}`);
  }

  /** Memory after a forced full GC; RSS is the median of three `/metrics` readings. */
  async memory(): Promise<MemoryReading> {
    const usage = await this.probe.call<NodeJS.MemoryUsage>('gc');
    const readings: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      readings.push((await this.metrics()).get('process_resident_memory_bytes') ?? NaN);
    }
    return { rss: readings.sort((a, b) => a - b)[1]!, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external };
  }

  /** Garbage-collection pauses and event-loop delay in courier since the last call. */
  pauses(): Promise<Pauses> {
    return this.probe.call('pauses');
  }

  profileStart(): Promise<void> {
    return this.probe.call('profileStart');
  }

  /** Writes the CPU profile of the phase since profileStart() to `file` (.cpuprofile). */
  profileStop(file: string): Promise<void> {
    return this.probe.call('profileStop', { file });
  }

  /** SIGTERM (courier drains and exits), SIGKILL after 60 s. */
  async stop(): Promise<void> {
    this.keepAlive.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
