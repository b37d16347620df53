import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, wallNow } from '../clock.js';
import { percentile, round } from '../stats.js';
import { agentIds, freshCourier, type BenchContext } from './context.js';
import { connectAll, disconnectAll, waitCompleted } from './phases.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
/** Agents that receive the indexer's commands. */
const AGENTS = 100;

/** Why `courier serve` cannot run on OpenSearch, or null when it can. */
export function indexerUnavailableReason(): string | null {
  const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
  if (help.status !== 0) return `courier serve --help failed: ${help.stderr}`;
  for (const flag of ['--opensearch', '--opensearch-index-prefix', '--poll-interval']) {
    if (!new RegExp(`${flag}\\b`).test(help.stdout)) return `this build of courier serve has no ${flag} flag`;
  }
  return null;
}

/** A command document as the Wazuh indexer plugin writes it to `wazuh-commands` (no `courier` object). */
function commandDocument(agentId: string) {
  const now = Date.now();
  return {
    '@timestamp': new Date(now).toISOString(),
    delivery_timestamp: new Date(now + 3600_000).toISOString(),
    agent: { id: agentId, groups: [] },
    command: {
      source: 'Users/Services',
      user: 'bench',
      target: { type: 'agent', id: agentId },
      action: { name: 'bench-indexer', args: { tag: 'indexer', sent_at: wallNow() }, version: '5.0.0' },
      timeout: 3600,
      status: 'pending',
      request_id: randomUUID(),
      order_id: randomUUID(),
    },
  };
}

/** A request to the cluster, with its status and text. */
export async function openSearch(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * Indexer dispatch: courier on OpenSearch (`--opensearch <url> --poll-interval 1s`, indices under a
 * prefix of this run's own), WebSocket agents connected. Command documents are written one at a
 * time into `wazuh-commands` with a plain index call, as the indexer plugin writes them, at random
 * moments (so that writes fall at every phase of the poll cycle). Latency = agent receipt − the
 * cluster's acknowledgement of the write.
 */
export async function runIndexer(ctx: BenchContext, url: string): Promise<void> {
  const reason = indexerUnavailableReason();
  if (reason) {
    ctx.unavailable.indexer_dispatch = reason;
    ctx.note(`indexer: unavailable (${reason})`);
    return;
  }
  const { plan, note, results } = ctx;
  const base = url.replace(/\/+$/, '');
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const node = await freshCourier(['--opensearch', base, '--opensearch-index-prefix', prefix, '--poll-interval', '1s']);
  try {
    const { courier } = node;
    const ids = agentIds('ix', Math.min(plan.agents, AGENTS));
    const agents = await courier.registerAgents(ids, []);
    await connectAll(ctx, courier, 'websocket', agents);
    const completedBefore = (await ctx.fleet.counters()).completed;

    const count = plan.indexerCommands;
    const acked = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      const res = await openSearch(base, 'PUT', `/${prefix}wazuh-commands/_doc/${id}`, commandDocument(ids[i % ids.length]!));
      acked.set(id, wallNow());
      if (res.status !== 201) throw new Error(`indexing a command answered ${res.status}: ${res.text.slice(0, 300)}`);
      await sleep(10 + Math.random() * 50);
    }
    const arrivals = await ctx.fleet.arrivals('indexer', count, 120_000);
    const latencies = arrivals.map((a) => a.at - acked.get(a.id)!);
    await waitCompleted(ctx.fleet, completedBefore, count, 120_000);
    results.indexer_dispatch_p50_ms = round(percentile(latencies, 50));
    results.indexer_dispatch_p99_ms = round(percentile(latencies, 99));
    note(
      `indexer: ${count} documents indexed one at a time, poll interval 1 s, ${ids.length} WebSocket agents: ` +
        `p50 ${results.indexer_dispatch_p50_ms} ms, p90 ${round(percentile(latencies, 90))} ms, p99 ${results.indexer_dispatch_p99_ms} ms, ` +
        `max ${round(Math.max(...latencies))} ms (from the cluster's acknowledgement)`,
    );
    await disconnectAll(ctx, courier, 'websocket');
  } finally {
    await node.dispose();
    // This run's indices and the index templates courier installed for them.
    await openSearch(base, 'DELETE', `/${prefix}*`).catch(() => undefined);
    await openSearch(base, 'DELETE', `/_index_template/${prefix}*`).catch(() => undefined);
  }
}
