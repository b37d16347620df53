import { rmSync } from 'node:fs';
import { CourierNode } from '../courier-node.js';
import { round } from '../stats.js';
import { agentIds, commandSpec, freshCourier, type BenchContext } from './context.js';
import { mb } from './websocket.js';

/** Commands per POST: 5,000 small specs stay under the default 1 MiB body limit. */
const PER_POST = 5000;

/**
 * Pending commands for offline agents, held by the supervisor: the memory they take, and the
 * time a restart on a data directory holding them takes to load them all back (from the log
 * line courier writes when it starts to the one it writes when recovery is done).
 */
export async function runLiveCommands(ctx: BenchContext): Promise<void> {
  const { plan, note, results } = ctx;
  const count = plan.liveCommands;
  const first = await freshCourier();
  let restarted: CourierNode | null = null;
  try {
    const empty = await first.courier.memory();
    const ids = agentIds('off', Math.min(plan.agents, 1000));
    await first.courier.registerAgents(ids, ['bench-offline']);
    const started = performance.now();
    // The first commands come from one request: a fan-out of up to 50,000 commands (each spec a
    // group of all the agents). The longest stall of courier's event loop meanwhile is what one
    // request costs everybody else; nothing else runs (the agents are offline).
    const specs = Math.max(1, Math.floor(Math.min(50_000, count) / ids.length));
    await first.courier.pauses(); // read and reset: the window starts here
    const fanoutStarted = performance.now();
    await first.courier.submit(Array.from({ length: specs }, () => commandSpec({ type: 'group', id: 'bench-offline' }, 'bench-offline')));
    const fanoutMs = performance.now() - fanoutStarted;
    results.fanout_request_loop_stall_ms = round((await first.courier.pauses()).loopDelayMaxMs, 1);
    note(
      `live commands: one request of ${specs} group specs made ${specs * ids.length} commands in ${Math.round(fanoutMs)} ms; ` +
        `courier's event loop stalled at most ${results.fanout_request_loop_stall_ms ?? '?'} ms meanwhile`,
    );
    for (let made = specs * ids.length; made < count; made += PER_POST) {
      const n = Math.min(PER_POST, count - made);
      await first.courier.submit(Array.from({ length: n }, (_, i) => commandSpec({ type: 'agent', id: ids[(made + i) % ids.length]! }, 'bench-offline')));
    }
    const createMs = performance.now() - started;
    const held = await first.courier.memory();
    note(
      `live commands: ${count} pending commands for ${ids.length} offline agents created in ${Math.round(createMs)} ms ` +
        `(${Math.round(count / (createMs / 1000))}/s); RSS ${mb(empty.rss)} MB empty -> ${mb(held.rss)} MB`,
    );
    await first.courier.stop();

    restarted = await CourierNode.start({ dataDir: first.dataDir, args: ['--long-poll-timeout', '10m'] });
    const from = restarted.log('configuration')?.time;
    const recovered = restarted.log('recovered unfinished commands');
    if (from === undefined || recovered?.time === undefined) throw new Error('courier did not log its start and its recovery');
    if (recovered.commands !== count) throw new Error(`courier recovered ${String(recovered.commands)} commands, expected ${count}`);
    const loaded = await restarted.memory();
    results.live_commands_100k_load_ms = recovered.time - from;
    results.live_commands_100k_rss_mb = mb(loaded.rss);
    note(
      `live commands: restart loaded ${count} commands in ${results.live_commands_100k_load_ms} ms; RSS ${results.live_commands_100k_rss_mb} MB ` +
        `(V8 heap ${mb(loaded.heapUsed)} MB used of ${mb(loaded.heapTotal)} MB; ${round((loaded.heapUsed - empty.heapUsed) / count / 1024, 2)} KB heap ` +
        `and ${round((loaded.rss - empty.rss) / count / 1024, 2)} KB resident per command over an empty node)`,
    );
  } finally {
    await restarted?.stop();
    await first.courier.stop();
    rmSync(first.dataDir, { recursive: true, force: true });
  }
}
