import { percentile, round } from '../stats.js';
import { agentIds, freshCourier, profiled, type BenchContext } from './context.js';
import { connectAll, disconnectAll, dispatchLatency, perAgentKb, warmUp } from './phases.js';
import { mb } from './websocket.js';

/**
 * What TLS costs: the WebSocket scenario's memory per idle connection and dispatch latency, on a
 * courier serving HTTPS with its own CA (the default), every agent verifying it. Compared with the
 * plain WebSocket figures of the same run.
 */
export async function runTlsWebSocket(ctx: BenchContext): Promise<void> {
  const { plan, note, results } = ctx;
  // A TLS option makes the bench's node serve TLS (it serves plain HTTP otherwise).
  const node = await freshCourier(['--tls-hosts', '127.0.0.1']);
  try {
    const { courier } = node;
    if (!courier.ca) throw new Error('the TLS scenario needs a courier serving TLS with its own CA');
    note(`tls-websocket: registering ${plan.agents} agents`);
    const agents = await courier.registerAgents(agentIds('tls', plan.agents), ['bench-tls']);
    await warmUp(ctx, courier, 'websocket', agents);
    const before = await courier.memory();
    const rampMs = await connectAll(ctx, courier, 'websocket', agents);
    const after = await courier.memory();
    const per = perAgentKb(before, after, agents.length);
    results.rss_kb_per_tls_ws_agent = round(per.rssKb);
    note(
      `tls-websocket: ${agents.length} agents connected over TLS in ${Math.round(rampMs)} ms; RSS ${mb(before.rss)} -> ${mb(after.rss)} MB ` +
        `= ${round(per.rssKb)} KB/agent (V8 heap ${round(per.heapKb)} KB, external ${round(per.externalKb)} KB)`,
    );
    const latencies = await profiled(ctx, courier, 'tls-ws-dispatch', () =>
      dispatchLatency(
        ctx,
        courier,
        agents.map((a) => a.id),
        'tls-ws-dispatch',
      ),
    );
    results.tls_ws_dispatch_p50_ms = round(percentile(latencies, 50));
    results.tls_ws_dispatch_p99_ms = round(percentile(latencies, 99));
    if (results.ws_dispatch_p99_ms !== undefined) results.tls_ws_dispatch_p99_overhead_ms = round(results.tls_ws_dispatch_p99_ms - results.ws_dispatch_p99_ms);
    note(
      `tls-websocket: dispatch of ${latencies.length} commands at ${plan.dispatchRate}/s: p50 ${results.tls_ws_dispatch_p50_ms} ms, ` +
        `p99 ${results.tls_ws_dispatch_p99_ms} ms (plain WebSocket in this run: p99 ${results.ws_dispatch_p99_ms ?? 'not measured'} ms)`,
    );
    await disconnectAll(ctx, courier, 'websocket');
  } finally {
    await node.dispose();
  }
}
