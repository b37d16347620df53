import { randomBytes } from 'node:crypto';
import { sleep, wallNow } from '../clock.js';
import type { CourierNode } from '../courier-node.js';
import { percentile, round } from '../stats.js';
import { agentIds, commandSpec, freshCourier, profiled, type BenchContext } from './context.js';
import { indexerUnavailableReason, openSearch } from './indexer.js';
import { connectAll, disconnectAll, sustain, waitCompleted, type Producer } from './phases.js';

/** Commands per POST in the fixed-rate phase (a producer batching a little, as the plugin's bulk does). */
const PER_POST = 10;

/**
 * Scale-out on OpenSearch: for each count N of `--nodes`, N courier nodes on one cluster and one set
 * of indices (a prefix of their own), WebSocket agents spread evenly over them, producers on every
 * node's admin socket in turn — so that (N−1)/N of the commands are created on a node other than the
 * one their agent is connected to.
 *
 * - Fixed rate (`--scale-out-rate`, for the throughput phase's duration): CPU of the OpenSearch
 *   process (its own `_nodes/stats`) and of every courier node from the first POST until the last
 *   command is completed, per command; dispatch latency of the commands created on another node.
 * - Saturation: as many commands as the nodes take, completed per second, end to end.
 */
export async function runScaleOut(ctx: BenchContext, url: string): Promise<void> {
  const reason = indexerUnavailableReason();
  if (reason) {
    ctx.unavailable['scale-out'] = reason;
    ctx.note(`scale-out: unavailable (${reason})`);
    return;
  }
  const base = url.replace(/\/+$/, '');
  const courierCpu = new Map<number, number>();
  for (const nodes of ctx.plan.nodeCounts) courierCpu.set(nodes, await runNodes(ctx, base, nodes));
  const one = courierCpu.get(1);
  if (one === undefined) return;
  for (const [nodes, cpu] of courierCpu) if (nodes > 1) ctx.results[`courier_cpu_growth{nodes=${nodes}}`] = round(cpu / one);
}

/** One run with `count` nodes; returns courier's CPU per command (ms, all nodes) at the fixed rate. */
async function runNodes(ctx: BenchContext, base: string, count: number): Promise<number> {
  const { plan, note, results } = ctx;
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const started: Awaited<ReturnType<typeof freshCourier>>[] = [];
  try {
    for (let k = 0; k < count; k++) {
      started.push(await freshCourier(['--opensearch', base, '--opensearch-index-prefix', prefix, '--poll-interval', '1s', '--node', `bench-${k + 1}`]));
    }
    const couriers = started.map((s) => s.courier);
    const agents = await couriers[0]!.registerAgents(agentIds('so', plan.scaleOutAgents), []);
    // Agent i is connected to node i mod N.
    const home = new Map(agents.map((a, i) => [a.id, i % count]));
    for (const [k, courier] of couriers.entries()) {
      await connectAll(
        ctx,
        courier,
        'websocket',
        agents.filter((a) => home.get(a.id) === k),
      );
    }
    const ids = agents.map((a) => a.id);
    // What the nodes and the cluster spend with nothing to deliver (polls, sweeps), per second.
    const idleOs = await openSearchCpuMs(base);
    const idleCourier = await cpuMs(couriers);
    await sleep(3000);
    note(
      `scale-out, ${count} node(s), idle (agents connected, no commands): OpenSearch ${round(((await openSearchCpuMs(base)) - idleOs) / 3)} ms/s, ` +
        `courier ${round(((await cpuMs(couriers)) - idleCourier) / 3)} ms/s (all nodes)`,
    );
    const label = `{nodes=${count}}` as const;

    const fixed = await profiled(ctx, couriers[0]!, `scale-out-${count}-fixed-rate`, () => fixedRate(ctx, base, couriers, ids, home));
    results[`os_cpu_ms_per_cmd${label}`] = round(fixed.osCpuMs, 3);
    results[`courier_cpu_ms_per_cmd_os${label}`] = round(fixed.courierCpuMs, 3);
    if (fixed.crossNode.length > 0) {
      results[`cross_node_dispatch_p50_ms${label}`] = round(percentile(fixed.crossNode, 50));
      results[`cross_node_dispatch_p99_ms${label}`] = round(percentile(fixed.crossNode, 99));
    }
    note(
      `scale-out, ${count} node(s), ${agents.length} WebSocket agents: ${fixed.commands} commands at ${plan.scaleOutRate}/s: ` +
        `OpenSearch CPU ${round(fixed.osCpuMs, 3)} ms and courier CPU ${round(fixed.courierCpuMs, 3)} ms (all nodes) per command; ` +
        `dispatch on the creating node p50 ${round(percentile(fixed.sameNode, 50))} ms, p99 ${round(percentile(fixed.sameNode, 99))} ms` +
        (fixed.crossNode.length > 0
          ? `; created on another node (${fixed.crossNode.length}): p50 ${round(percentile(fixed.crossNode, 50))} ms, p99 ${round(percentile(fixed.crossNode, 99))} ms, max ${round(Math.max(...fixed.crossNode))} ms`
          : ''),
    );

    const window = Math.min(5000, 5 * ids.length);
    const rates = await sustain(ctx, inTurn(couriers), ids, { window, batch: 100 });
    results[`os_throughput_cmds_per_s${label}`] = Math.round(rates.completedPerS);
    note(`scale-out, ${count} node(s): sustained lifecycle (window ${window}, 100 per POST on the nodes in turn): ${Math.round(rates.completedPerS)} completed/s`);

    for (const courier of couriers) await disconnectAll(ctx, courier, 'websocket');
    return fixed.courierCpuMs;
  } finally {
    for (const s of started) await s.dispose();
    // This run's indices and the index templates courier installed for them.
    await openSearch(base, 'DELETE', `/${prefix}*`).catch(() => undefined);
    await openSearch(base, 'DELETE', `/_index_template/${prefix}*`).catch(() => undefined);
  }
}

interface FixedRateOutcome {
  commands: number;
  osCpuMs: number;
  courierCpuMs: number;
  /** Dispatch latencies (ms) of commands created on their agent's node, and on another. */
  sameNode: number[];
  crossNode: number[];
}

async function fixedRate(ctx: BenchContext, base: string, couriers: CourierNode[], ids: string[], home: Map<string, number>): Promise<FixedRateOutcome> {
  const { scaleOutRate: rate, throughputMs } = ctx.plan;
  const posts = Math.max(1, Math.round((rate * throughputMs) / 1000 / PER_POST));
  const tags = { same: `scale-${couriers.length}-same`, cross: `scale-${couriers.length}-cross` };
  const counts = { same: 0, cross: 0 };
  const completedBefore = (await ctx.fleet.counters()).completed;
  const osBefore = await openSearchCpuMs(base);
  const workBefore = await openSearchWork(base);
  const courierBefore = await cpuMs(couriers);
  const pending: Promise<unknown>[] = [];
  const started = performance.now();
  for (let p = 0; p < posts; p++) {
    const due = (p * PER_POST * 1000) / rate - (performance.now() - started);
    if (due > 0) await sleep(due);
    const creator = p % couriers.length;
    const specs = Array.from({ length: PER_POST }, () => {
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      const kind = home.get(id) === creator ? 'same' : 'cross';
      counts[kind]++;
      return commandSpec({ type: 'agent', id }, 'bench-scale-out', { tag: tags[kind], sent_at: wallNow() });
    });
    pending.push(couriers[creator]!.submit(specs));
  }
  await Promise.all(pending);
  const commands = posts * PER_POST;
  const sameNode = counts.same > 0 ? await ctx.fleet.latencies(tags.same, counts.same, 120_000) : [];
  const crossNode = counts.cross > 0 ? await ctx.fleet.latencies(tags.cross, counts.cross, 120_000) : [];
  await waitCompleted(ctx.fleet, completedBefore, commands, 120_000);
  const osCpuMs = ((await openSearchCpuMs(base)) - osBefore) / commands;
  const work = await openSearchWork(base);
  const seconds = (performance.now() - started) / 1000;
  const perCommand = (name: keyof typeof work) => round((work[name] - workBefore[name]) / commands, 2);
  const perSecond = (name: keyof typeof work) => round((work[name] - workBefore[name]) / seconds, 1);
  ctx.note(
    `scale-out, ${couriers.length} node(s): the cluster's work per command: ${perCommand('indexed')} documents indexed, ${perCommand('gets')} gets, ` +
      `${perCommand('searches')} searches; per second: ${perSecond('searches')} searches, ${perSecond('refreshes')} refreshes, ${perSecond('merges')} merges`,
  );
  const courierCpuMs = ((await cpuMs(couriers)) - courierBefore) / commands;
  return { commands, osCpuMs, courierCpuMs, sameNode, crossNode };
}

/** CPU time the cluster's processes have used so far (ms), from their own node statistics. */
async function openSearchCpuMs(base: string): Promise<number> {
  const res = await openSearch(base, 'GET', '/_nodes/stats/process');
  if (res.status !== 200) throw new Error(`GET /_nodes/stats/process answered ${res.status}: ${res.text.slice(0, 300)}`);
  const stats = JSON.parse(res.text) as { nodes: Record<string, { process: { cpu: { total_in_millis: number } } }> };
  return Object.values(stats.nodes).reduce((sum, node) => sum + node.process.cpu.total_in_millis, 0);
}

/** Counts of the cluster's operations so far (its node statistics, all indices). */
async function openSearchWork(base: string): Promise<{ indexed: number; gets: number; searches: number; refreshes: number; merges: number }> {
  const res = await openSearch(base, 'GET', '/_nodes/stats/indices/indexing,get,search,refresh,merge');
  if (res.status !== 200) throw new Error(`GET /_nodes/stats/indices answered ${res.status}: ${res.text.slice(0, 300)}`);
  type Indices = {
    indexing: { index_total: number };
    get: { total: number };
    search: { query_total: number };
    refresh: { total: number };
    merges: { total: number };
  };
  const stats = JSON.parse(res.text) as { nodes: Record<string, { indices: Indices }> };
  const sum = (read: (i: Indices) => number) => Object.values(stats.nodes).reduce((total, node) => total + read(node.indices), 0);
  return {
    indexed: sum((i) => i.indexing.index_total),
    gets: sum((i) => i.get.total),
    searches: sum((i) => i.search.query_total),
    refreshes: sum((i) => i.refresh.total),
    merges: sum((i) => i.merges.total),
  };
}

/** CPU time all these courier processes have used so far (ms). */
async function cpuMs(couriers: CourierNode[]): Promise<number> {
  const seconds = await Promise.all(couriers.map((c) => c.cpuSeconds()));
  return seconds.reduce((a, b) => a + b, 0) * 1000;
}

/** A producer that sends each batch to the next node. */
function inTurn(couriers: CourierNode[]): Producer {
  let next = 0;
  return { submit: (commands) => couriers[next++ % couriers.length]!.submit(commands) };
}
