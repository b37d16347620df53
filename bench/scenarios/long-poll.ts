import { histogramPercentile, percentile, round } from '../stats.js';
import { agentIds, freshCourier, profiled, type BenchContext } from './context.js';
import { connectAll, disconnectAll, dispatchLatency, perAgentKb, warmUp } from './phases.js';
import { mb } from './websocket.js';

/** Long-polling agents on a courier of their own: memory per held poll and dispatch latency. */
export async function runLongPoll(ctx: BenchContext): Promise<void> {
  const { plan, note, results } = ctx;
  const node = await freshCourier();
  try {
    const { courier } = node;
    note(`long-poll: registering ${plan.agents} agents`);
    const agents = await courier.registerAgents(agentIds('lp', plan.agents), ['bench-lp']);
    await warmUp(ctx, courier, 'long-poll', agents);
    const before = await courier.memory();

    const rampMs = await connectAll(ctx, courier, 'long-poll', agents);
    const after = await courier.memory();
    const per = perAgentKb(before, after, agents.length);
    results.rss_kb_per_longpoll_agent = round(per.rssKb);
    note(
      `long-poll: ${agents.length} polls held after ${Math.round(rampMs)} ms; RSS ${mb(before.rss)} -> ${mb(after.rss)} MB ` +
        `= ${round(per.rssKb)} KB/agent (V8 heap ${round(per.heapKb)} KB, external ${round(per.externalKb)} KB)`,
    );

    const histogramBefore = await courier.dispatchHistogram();
    const latencies = await profiled(ctx, courier, 'longpoll-dispatch', () =>
      dispatchLatency(
        ctx,
        courier,
        agents.map((a) => a.id),
        'longpoll-dispatch',
      ),
    );
    const histogramAfter = await courier.dispatchHistogram();
    results.longpoll_dispatch_p50_ms = round(percentile(latencies, 50));
    results.longpoll_dispatch_p99_ms = round(percentile(latencies, 99));
    note(
      `long-poll: dispatch of ${latencies.length} commands at ${plan.dispatchRate}/s: p50 ${results.longpoll_dispatch_p50_ms} ms, ` +
        `p90 ${round(percentile(latencies, 90))} ms, p99 ${results.longpoll_dispatch_p99_ms} ms, max ${round(Math.max(...latencies))} ms; ` +
        `courier's own histogram (command ready -> answer written): p50 <= ${histogramPercentile(histogramBefore, histogramAfter, 50)} ms, ` +
        `p99 <= ${histogramPercentile(histogramBefore, histogramAfter, 99)} ms`,
    );
    await disconnectAll(ctx, courier, 'long-poll');
  } finally {
    await node.dispose();
  }
}
