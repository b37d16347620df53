// `node dist/bench/lifecycle-pipeline.js`: courier's process alone on the hot path, without sockets
// or a load process. A courier runs in this process on a fresh data directory; its agents are
// in-process transports that acknowledge and report on every command pushed to them in the next
// turn, through the same supervisor port the WebSocket handler uses; a producer keeps a window of
// commands in flight through the supervisor's `submit`. What it measures is what `--workers` leaves
// in courier's process: the supervisor, the command machines, the dispatcher, the write batcher and
// the hand-over to the store's thread. Nothing else runs, so its figures move by ~2 % from run to
// run where the whole benchmark's move by ~20 %: the instrument to tell one lever of that path from
// another (run the code before and after alternately).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { startCourier, type RunningCourier } from '../src/courier.js';
import { agentRoute, type CommandSpec, type CommandView } from '../src/domain/command.js';
import { requestJson } from '../src/http-client.js';
import { localSupervisorPort, type SupervisorPort } from '../src/runtime/supervisor-port.js';
import type { Subscription, SubscriberTransport } from '../src/runtime/subscription.js';
import { describeMachine } from './machine.js';
import { threadCpu, threadCpuBetween } from './process-cpu.js';
import { median, round } from './stats.js';
import { watchPauses } from './pauses.js';

const USAGE = `Usage: node dist/bench/lifecycle-pipeline.js [options]

Runs commands through the whole lifecycle (created, sent, delivered, success; four audited
transitions each) in courier's process, with in-process agents, and prints the CPU of courier's
event loop, of the store's writer thread and of the process's other threads per command.

Options:
  --agents <n>    connected agents (default 1000)
  --window <n>    commands in flight (default 5000)
  --per-submit <n> commands per create request (default 500)
  --seconds <s>   measured seconds per run, after 3 s of warm-up (default 8)
  --runs <n>      runs, each on a fresh courier; the median is reported (default 3)
  -h, --help      this help`;

interface RunFigures {
  commands: number;
  /** CPU per command (µs): the event loop, the store's writer thread, the process's other threads. */
  mainUs: number;
  writerUs: number;
  othersUs: number;
  gcMs: number;
}

/** An agent whose every pushed command is acknowledged and succeeds in one frame, the next turn. */
function inProcessAgent(port: SupervisorPort, id: string, onDone: (n: number) => void): SubscriberTransport & { attach(sub: Subscription): void } {
  let subscription: Subscription | null = null;
  const route = agentRoute(id);
  const who = `agent:${id}`;
  return {
    attach(sub) {
      subscription = sub;
    },
    push(commands: CommandView[]) {
      const ids = commands.map((c) => c.document_id);
      setImmediate(() => {
        const reports = ids.map((document_id) => ({ document_id, code: 0, message: 'done' }));
        // Refused only once courier is stopping, at the end of a run.
        port.reportResults(reports, route, who, { subscription: subscription!, acked: ids }).then(
          () => onDone(ids.length),
          () => {},
        );
      });
    },
    drain() {},
    room: (inFlight) => Math.max(0, 1000 - inFlight),
  };
}

async function run(options: { agents: number; window: number; perSubmit: number; seconds: number }): Promise<RunFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'courier-pipeline-'));
  let courier: RunningCourier | null = null;
  try {
    const config = loadConfig({
      flags: { host: '127.0.0.1', port: '0', managementPort: '0', dataDir, logLevel: 'silent', insecureHttp: 'true', workers: '1' },
      env: {},
    });
    courier = await startCourier(config, { logger: pino({ level: 'silent' }) });
    const ids = Array.from({ length: options.agents }, (_, i) => `pipe-${String(i).padStart(5, '0')}`);
    const socketPath = courier.socket;
    for (let i = 0; i < ids.length; i += 8) {
      await Promise.all(
        ids.slice(i, i + 8).map(async (id) => {
          const res = await requestJson({ socketPath, method: 'POST', path: '/api/v1/agents', body: { id, groups: ['pipe'] } });
          if (res.status !== 201) throw new Error(`registering ${id}: ${res.status} ${JSON.stringify(res.body)}`);
        }),
      );
    }
    const port = localSupervisorPort(courier.supervisor);
    let done = 0;
    let inFlight = 0;
    const producerWaits: { wake: (() => void) | null } = { wake: null };
    const onDone = (n: number) => {
      done += n;
      inFlight -= n;
      producerWaits.wake?.();
    };
    for (const id of ids) {
      const agent = inProcessAgent(port, id, onDone);
      agent.attach(port.subscribe(agentRoute(id), 'websocket', `agent:${id}`, agent) as Subscription);
    }
    let next = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        if (inFlight + options.perSubmit > options.window) {
          await new Promise<void>((resolve) => (producerWaits.wake = resolve));
          producerWaits.wake = null;
          continue;
        }
        const specs: CommandSpec[] = Array.from({ length: options.perSubmit }, () => ({
          source: 'bench',
          target: { type: 'agent', id: ids[next++ % ids.length]! },
          action: { name: 'restart', args: {}, version: '5.0.0' },
          timeout: 3600,
        }));
        inFlight += specs.length;
        await courier.supervisor.submit(specs, 'socket');
      }
    })();
    const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
    await sleep(3);
    const pauses = watchPauses();
    pauses();
    const before = { done, threads: threadCpu(process.pid) };
    await sleep(options.seconds);
    const after = { done, threads: threadCpu(process.pid) };
    const gc = pauses();
    producing = false;
    producerWaits.wake?.();
    await producer;
    const commands = after.done - before.done;
    const cpu = threadCpuBetween(process.pid, before.threads, after.threads);
    const us = (seconds: number) => (seconds * 1e6) / commands;
    return { commands, mainUs: us(cpu.main), writerUs: us(cpu.busiest), othersUs: us(cpu.others), gcMs: gc.gcTotalMs };
  } finally {
    await courier?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string', default: '1000' },
      window: { type: 'string', default: '5000' },
      'per-submit': { type: 'string', default: '500' },
      seconds: { type: 'string', default: '8' },
      runs: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  const options = { agents: Number(values.agents), window: Number(values.window), perSubmit: Number(values['per-submit']), seconds: Number(values.seconds) };
  const machine = describeMachine();
  console.log(`machine: ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}; load average ${machine.load_1m_at_start}`);
  const runs: RunFigures[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const figures = await run(options);
    runs.push(figures);
    console.log(
      `run ${i + 1}: ${figures.commands} commands in ${options.seconds} s (${round(figures.commands / options.seconds, 0)}/s); ` +
        `CPU per command: event loop ${round(figures.mainUs, 1)} µs, store's writer ${round(figures.writerUs, 1)} µs, others ${round(figures.othersUs, 1)} µs; ` +
        `GC pauses ${round(figures.gcMs, 0)} ms`,
    );
  }
  console.log(
    `median CPU per command: event loop ${round(median(runs.map((r) => r.mainUs)), 1)} µs, store's writer ${round(median(runs.map((r) => r.writerUs)), 1)} µs, ` +
      `others ${round(median(runs.map((r) => r.othersUs)), 1)} µs; ` +
      `${round(median(runs.map((r) => r.commands / options.seconds)), 0)} commands/s`,
  );
}

await main();
