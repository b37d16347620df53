import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CourierNode } from '../courier-node.js';
import type { Fleet } from '../fleet.js';
import type { Plan } from '../options.js';
import { describePauses } from '../pauses.js';

/** Figures of the scale-out scenario, one per node count: `os_cpu_ms_per_cmd{nodes=3}`. */
export type ScaleOutMetric =
  'os_cpu_ms_per_cmd' | 'courier_cpu_ms_per_cmd_os' | 'courier_cpu_growth' | 'os_throughput_cmds_per_s' | 'cross_node_dispatch_p50_ms' | 'cross_node_dispatch_p99_ms';

/** The metric names of a run, exactly as reported. */
export type MetricName =
  | `${ScaleOutMetric}{nodes=${number}}`
  | 'ws_dispatch_p50_ms'
  | 'ws_dispatch_p99_ms'
  | 'longpoll_dispatch_p50_ms'
  | 'longpoll_dispatch_p99_ms'
  | 'throughput_cmds_per_s'
  | 'cpu_us_per_cmd'
  | 'workers2_throughput_cmds_per_s'
  | 'workers2_cpu_us_per_cmd'
  | 'workers2_primary_cpu_us_per_cmd'
  | 'workers2_main_thread_cpu_us_per_cmd'
  | 'workers2_store_thread_cpu_us_per_cmd'
  | 'rss_kb_per_ws_agent'
  | 'rss_kb_per_longpoll_agent'
  | 'tls_ws_dispatch_p50_ms'
  | 'tls_ws_dispatch_p99_ms'
  | 'tls_ws_dispatch_p99_overhead_ms'
  | 'rss_kb_per_tls_ws_agent'
  | 'fanout_10k_ms'
  | 'job_dispatch_overhead_pct'
  | 'job_rate_error_pct'
  | 'fanout_request_loop_stall_ms'
  | 'live_commands_100k_rss_mb'
  | 'live_commands_100k_load_ms'
  | 'raw_throughput_ratio'
  | 'indexer_dispatch_p50_ms'
  | 'indexer_dispatch_p99_ms'
  | 'auth_per_s'
  | 'auth_uncached_per_s'
  | 'auth_route_per_s';

export type Results = Partial<Record<MetricName, number>>;

export interface BenchContext {
  plan: Plan;
  fleet: Fleet;
  results: Results;
  /** Scenario name -> why it could not run. */
  unavailable: Record<string, string>;
  /** A line of progress or detail, printed as it happens. */
  note: (line: string) => void;
  /** Written CPU profiles: phase -> file. */
  profiles: Map<string, string>;
}

/** Data directories of this run, removed when it exits however it ends. */
const dataDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** Courier on a fresh data directory; long-polls held long enough that idle agents do not churn. */
export async function freshCourier(extraArgs: string[] = []): Promise<{ courier: CourierNode; dataDir: string; dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'courier-bench-'));
  dataDirs.add(dataDir);
  const courier = await CourierNode.start({ dataDir, args: ['--long-poll-timeout', '10m', ...extraArgs] });
  return {
    courier,
    dataDir,
    async dispose() {
      await courier.stop();
      rmSync(dataDir, { recursive: true, force: true });
      dataDirs.delete(dataDir);
    },
  };
}

export function agentIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}`);
}

/** A command spec as producers send it on the admin socket. */
export function commandSpec(target: { type: 'agent' | 'group'; id: string }, name: string, args: Record<string, unknown> = {}) {
  return { source: 'bench', target, action: { name, args, version: '1' }, timeout: 3600 };
}

/** Runs `body` under a CPU profile of courier when --cpu-prof is given. */
export async function profiled<T>(ctx: BenchContext, courier: CourierNode, phase: string, body: () => Promise<T>): Promise<T> {
  await courier.pauses(); // from here on
  const result = await profiledBody(ctx, courier, phase, body);
  ctx.note(`${phase}: courier's pauses during the phase: ${describePauses(await courier.pauses())}`);
  return result;
}

async function profiledBody<T>(ctx: BenchContext, courier: CourierNode, phase: string, body: () => Promise<T>): Promise<T> {
  if (!ctx.plan.cpuProfDir) return body();
  await courier.profileStart();
  try {
    return await body();
  } finally {
    const file = join(ctx.plan.cpuProfDir, `${phase}.cpuprofile`);
    await courier.profileStop(file);
    ctx.profiles.set(phase, file);
  }
}

export function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
