import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcChild } from '../ipc.js';
import { round } from '../stats.js';
import { measureRates } from './phases.js';
import type { BenchContext } from './context.js';
import type { WebSocketOutcome } from './websocket.js';

const RAW_SERVER = join(dirname(fileURLToPath(import.meta.url)), '..', 'raw-server.js');

/**
 * The floor of this machine: the same agents connect to a minimal ws server that only pushes
 * the same frames, paced by the same window; its delivery rate is the denominator of
 * `raw_throughput_ratio`. Runs after courier has stopped, so the two never share the machine.
 */
export async function runRawFloor(ctx: BenchContext, ws: WebSocketOutcome): Promise<void> {
  const { plan, fleet, note } = ctx;
  const raw = IpcChild.fork(RAW_SERVER);
  try {
    const { url } = await raw.call<{ url: string }>('listen');
    const { failed } = await fleet.connect({
      transport: 'websocket',
      url,
      agents: ws.agents,
      rate: plan.connectRate * 4,
      concurrency: plan.connectConcurrency,
      authenticate: false,
    });
    if (failed > 0) throw new Error(`${failed} agents failed to connect to the raw server`);
    const pushing = raw.call<{ pushed: number; acked: number }>('push', {
      template: ws.sample,
      window: plan.window,
      durationMs: plan.warmupMs + plan.throughputMs + 500,
    });
    const rates = await measureRates(fleet, plan.warmupMs, plan.throughputMs);
    await pushing;
    ctx.results.raw_throughput_ratio = round(ws.deliveredPerS / rates.receivedPerS, 3);
    note(
      `raw floor: a bare ws server pushed ${Math.round(rates.receivedPerS)} frames/s to the same ${ws.agents.length} agents ` +
        `(window ${plan.window}); courier delivered ${Math.round(ws.deliveredPerS)}/s: ratio ${ctx.results.raw_throughput_ratio}`,
    );
    await fleet.disconnect();
    await raw.call('close');
  } finally {
    await raw.close();
  }
}
