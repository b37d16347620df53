import { cpuBetween, canReadProcessCpu, processTreeCpu, threadCpu, threadCpuBetween } from '../process-cpu.js';
import { agentIds, freshCourier, profiled, type BenchContext } from './context.js';
import { connectAll, disconnectAll, sustain, warmUp } from './phases.js';

/** Connection workers of this scenario's courier (`--workers`). */
const WORKERS = 2;

/**
 * The websocket scenario's sustained throughput on a courier with `--workers 2`: two processes of
 * its own terminate the agents' connections and hand their events to the primary's supervisor.
 * CPU is read from /proc for the primary and its worker processes, since the primary's
 * `process_cpu_seconds_total` counts the primary alone. The primary's CPU per command is what
 * bounds throughput once the workers have cores of their own.
 */
export async function runWorkers(ctx: BenchContext): Promise<void> {
  const { plan, note, results } = ctx;
  const node = await freshCourier(['--workers', String(WORKERS)]);
  try {
    const { courier } = node;
    if (!canReadProcessCpu(courier.pid)) {
      ctx.unavailable.workers = `no /proc/${courier.pid}/stat to read the CPU of courier's processes from (Linux only)`;
      return;
    }
    note(`workers: registering ${plan.agents} agents (courier with --workers ${WORKERS})`);
    const agents = await courier.registerAgents(agentIds('wk', plan.agents), ['bench-workers']);
    await warmUp(ctx, courier, 'websocket', agents);
    const rampMs = await connectAll(ctx, courier, 'websocket', agents);
    note(`workers: ${agents.length} agents connected in ${Math.round(rampMs)} ms`);

    const treeBefore = processTreeCpu(courier.pid);
    const threadsBefore = threadCpu(courier.pid);
    const metricBefore = await courier.cpuSeconds();
    const completedBefore = (await ctx.fleet.counters()).completed;
    const rates = await profiled(ctx, courier, 'workers-throughput', () =>
      sustain(
        ctx,
        courier,
        agents.map((a) => a.id),
      ),
    );
    const completed = (await ctx.fleet.counters()).completed - completedBefore;
    const metricSeconds = (await courier.cpuSeconds()) - metricBefore;
    const cpu = cpuBetween(treeBefore, processTreeCpu(courier.pid));
    const threads = threadCpuBetween(courier.pid, threadsBefore, threadCpu(courier.pid));
    const perCommandUs = (seconds: number) => (seconds * 1e6) / completed;

    const primaryUs = perCommandUs(cpu.process);
    const perWorkerUs = [...cpu.children.values()].map(perCommandUs);
    const workersUs = perWorkerUs.reduce((sum, us) => sum + us, 0);
    results.workers2_throughput_cmds_per_s = Math.round(rates.completedPerS);
    results.workers2_cpu_us_per_cmd = Math.round(primaryUs + workersUs);
    results.workers2_primary_cpu_us_per_cmd = Math.round(primaryUs);
    const singleProcess =
      results.throughput_cmds_per_s !== undefined
        ? `; --workers 1 in this run (websocket scenario): ${results.throughput_cmds_per_s} completed/s, ${results.cpu_us_per_cmd} µs per command`
        : '';
    note(
      `workers: sustained lifecycle (window ${plan.window}, ${plan.batch} per POST), ${plan.throughputMs / 1000} s measured, --workers ${WORKERS}: ` +
        `${Math.round(rates.completedPerS)} completed/s, ${Math.round(rates.receivedPerS)} delivered/s${singleProcess}`,
    );
    // Each command goes through one worker (its agent's connection's), so the workers' CPU per
    // command together is what a worker spends on each command it carries.
    note(
      `workers: CPU per command ${Math.round(primaryUs + workersUs)} µs = primary ${Math.round(primaryUs)} µs ` +
        `(its own process_cpu_seconds_total: ${Math.round(perCommandUs(metricSeconds))} µs) + workers ${Math.round(workersUs)} µs ` +
        `(per worker, of every command: ${perWorkerUs.map((us) => `${Math.round(us)} µs`).join(' + ')})`,
    );
    // Courier's process is several threads: its event loop, the store's writer, V8's helpers (GC).
    // With cores enough for each, the busiest thread bounds it, not their sum.
    const mainUs = perCommandUs(threads.main);
    const writerUs = perCommandUs(threads.busiest);
    results.workers2_main_thread_cpu_us_per_cmd = Math.round(mainUs);
    results.workers2_store_thread_cpu_us_per_cmd = Math.round(writerUs);
    note(
      `workers: courier's process by thread, per command: event loop ${Math.round(mainUs)} µs, store's writer ${Math.round(writerUs)} µs, ` +
        `the others (V8's GC and compiler helpers, libuv's pool) ${Math.round(perCommandUs(threads.others))} µs`,
    );
    const bound = Math.min(1e6 / mainUs, 1e6 / writerUs);
    note(
      `workers: projection with enough cores: courier's event loop carries at most ${Math.round(1e6 / mainUs)} commands/s, its store's writer thread ` +
        `${Math.round(1e6 / writerUs)}; a worker at most ${Math.round(1e6 / workersUs)} commands/s of its own agents ` +
        `(so ${WORKERS} workers, each thread on a core of its own, at most ${Math.round(Math.min(bound, (WORKERS * 1e6) / workersUs))} commands/s; ` +
        `with workers enough, ${Math.round(bound)})`,
    );
    if (cpu.children.size !== WORKERS || cpu.exited.length > 0) {
      note(`workers: warning: courier had ${cpu.children.size} child processes after the phase (expected ${WORKERS}); exited during it: ${cpu.exited.join(', ') || 'none'}`);
    }
    await disconnectAll(ctx, courier, 'websocket');
  } finally {
    await node.dispose();
  }
}
