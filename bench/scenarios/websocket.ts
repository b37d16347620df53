import { median, percentile, round } from '../stats.js';
import type { Credentials } from '../load/sim-agents.js';
import { agentIds, freshCourier, profiled, type BenchContext } from './context.js';
import { runJobs } from './jobs.js';
import { connectAll, disconnectAll, dispatchLatency, fanout, perAgentKb, sustain, warmUp } from './phases.js';

export interface WebSocketOutcome {
  agents: Credentials[];
  /** A command as agents received it, for the raw floor's frames. */
  sample: Record<string, unknown>;
  /** Courier's delivery rate in the throughput phase (commands received by agents per second). */
  deliveredPerS: number;
}

/**
 * WebSocket agents on one courier: memory per idle connection, dispatch latency, a group fan-out
 * to all of them, jobs to them (see jobs.ts), and sustained throughput through the whole lifecycle.
 */
export async function runWebSocket(ctx: BenchContext): Promise<WebSocketOutcome> {
  const { plan, note, results } = ctx;
  const node = await freshCourier();
  try {
    const { courier } = node;
    const group = 'bench-ws';
    note(`websocket: registering ${plan.agents} agents`);
    const agents = await courier.registerAgents(agentIds('ws', plan.agents), [group]);
    await warmUp(ctx, courier, 'websocket', agents);
    const before = await courier.memory();

    const rampMs = await connectAll(ctx, courier, 'websocket', agents);
    const after = await courier.memory();
    const per = perAgentKb(before, after, agents.length);
    results.rss_kb_per_ws_agent = round(per.rssKb);
    note(
      `websocket: ${agents.length} agents connected in ${Math.round(rampMs)} ms; RSS ${mb(before.rss)} -> ${mb(after.rss)} MB ` +
        `= ${round(per.rssKb)} KB/agent (V8 heap ${round(per.heapKb)} KB, external ${round(per.externalKb)} KB)`,
    );

    const latencies = await profiled(ctx, courier, 'ws-dispatch', () =>
      dispatchLatency(
        ctx,
        courier,
        agents.map((a) => a.id),
        'ws-dispatch',
      ),
    );
    results.ws_dispatch_p50_ms = round(percentile(latencies, 50));
    results.ws_dispatch_p99_ms = round(percentile(latencies, 99));
    note(
      `websocket: dispatch of ${latencies.length} commands at ${plan.dispatchRate}/s: p50 ${results.ws_dispatch_p50_ms} ms, ` +
        `p90 ${round(percentile(latencies, 90))} ms, p99 ${results.ws_dispatch_p99_ms} ms, max ${round(Math.max(...latencies))} ms`,
    );

    const fanouts: number[] = [];
    await profiled(ctx, courier, 'fanout', async () => {
      for (let run = 0; run < plan.fanoutRuns; run++) fanouts.push(await fanout(ctx, courier, group, agents.length, `fanout-${run}`));
    });
    results.fanout_10k_ms = round(median(fanouts), 1);
    note(`websocket: group command to ${agents.length} agents, until the last received it: ${fanouts.map((f) => round(f, 1)).join(', ')} ms (median ${results.fanout_10k_ms})`);
    await profiled(ctx, courier, 'jobs', () => runJobs(ctx, courier, group, agents.length));

    const cpuBefore = await courier.cpuSeconds();
    const completedBefore = (await ctx.fleet.counters()).completed;
    const rates = await profiled(ctx, courier, 'throughput', () =>
      sustain(
        ctx,
        courier,
        agents.map((a) => a.id),
      ),
    );
    const cpuPerCommandUs = (((await courier.cpuSeconds()) - cpuBefore) * 1e6) / ((await ctx.fleet.counters()).completed - completedBefore);
    results.throughput_cmds_per_s = Math.round(rates.completedPerS);
    results.cpu_us_per_cmd = Math.round(cpuPerCommandUs);
    note(
      `websocket: sustained lifecycle (window ${plan.window}, ${plan.batch} per POST), ${plan.throughputMs / 1000} s measured: ` +
        `${Math.round(rates.completedPerS)} completed/s, ${Math.round(rates.receivedPerS)} delivered/s; ` +
        `courier CPU ${Math.round(cpuPerCommandUs)} µs per command`,
    );
    const afterLoad = await courier.memory();
    note(`websocket: after the throughput phase, courier retains ${mb(afterLoad.heapUsed)} MB of V8 heap ` + `(${mb(after.heapUsed)} MB before it); RSS ${mb(afterLoad.rss)} MB`);

    await disconnectAll(ctx, courier, 'websocket');
    return { agents, sample: rates.sample, deliveredPerS: rates.receivedPerS };
  } finally {
    await node.dispose();
  }
}

export const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
