import type { MetricName, Results, ScaleOutMetric } from './scenarios/context.js';

/** A metric's name without its labels: `os_cpu_ms_per_cmd{nodes=3}` → `os_cpu_ms_per_cmd`. */
type BaseName = Exclude<MetricName, `${string}{${string}`> | ScaleOutMetric;
const baseName = (name: MetricName) => name.replace(/\{.*$/, '') as BaseName;

/** The performance budget: each figure must stay on the right side of its limit. */
export const BUDGET: Partial<Record<BaseName, { max?: number; min?: number }>> = {
  ws_dispatch_p99_ms: { max: 10 },
  longpoll_dispatch_p99_ms: { max: 20 },
  throughput_cmds_per_s: { min: 20_000 },
  // Courier's CPU (every thread) per command through the whole lifecycle, at saturation.
  cpu_us_per_cmd: { max: 100 },
  rss_kb_per_ws_agent: { max: 20 },
  // TLS must cost little: a dispatch p99 within 2 ms of plain WebSocket's in the same run, 40 KB per agent.
  tls_ws_dispatch_p99_overhead_ms: { max: 2 },
  rss_kb_per_tls_ws_agent: { max: 40 },
  // One command to a group of 10,000 connected agents, to the last one (2,000 until 2026-12-07, when the throughput work set 1,000).
  fanout_10k_ms: { max: 1000 },
  // A job at no rate limit against a plain group fan-out to the same agents, in the same run; a job's rate as the agents count it.
  job_dispatch_overhead_pct: { max: 10 },
  job_rate_error_pct: { max: 2 },
  // One request must not hold every other producer and agent up (a 50,000 fan-out once stalled it 3.1 s).
  fanout_request_loop_stall_ms: { max: 250 },
  live_commands_100k_rss_mb: { max: 600 },
  raw_throughput_ratio: { min: 0.5 },
  indexer_dispatch_p99_ms: { max: 1500 },
  // Cached re-authentications of agents with Wazuh (PBKDF2) keys: a 10,000-agent fleet needs ~11/s.
  auth_per_s: { min: 5000 },
  // Scale-out on OpenSearch, per node count: the cluster's and courier's CPU per command at a fixed
  // rate; courier's CPU per command with N nodes at most 1.1 × one node's; throughput end to end;
  // a command created on one node reaching an agent connected to another: told by the creating node
  // (the change feed), not found at the next poll (1 s; the budget was 1,500 ms by the poll alone).
  os_cpu_ms_per_cmd: { max: 0.4 },
  courier_cpu_ms_per_cmd_os: { max: 0.4 },
  courier_cpu_growth: { max: 1.1 },
  os_throughput_cmds_per_s: { min: 2000 },
  cross_node_dispatch_p99_ms: { max: 300 },
};

export const METRIC_UNITS: Record<BaseName, string> = {
  ws_dispatch_p50_ms: 'ms',
  ws_dispatch_p99_ms: 'ms',
  longpoll_dispatch_p50_ms: 'ms',
  longpoll_dispatch_p99_ms: 'ms',
  throughput_cmds_per_s: 'commands/s',
  cpu_us_per_cmd: 'µs',
  // --workers 2 (the workers scenario): informational, no budget.
  workers2_throughput_cmds_per_s: 'commands/s',
  workers2_cpu_us_per_cmd: 'µs',
  workers2_primary_cpu_us_per_cmd: 'µs',
  workers2_main_thread_cpu_us_per_cmd: 'µs',
  workers2_store_thread_cpu_us_per_cmd: 'µs',
  rss_kb_per_ws_agent: 'KB',
  rss_kb_per_longpoll_agent: 'KB',
  tls_ws_dispatch_p50_ms: 'ms',
  tls_ws_dispatch_p99_ms: 'ms',
  tls_ws_dispatch_p99_overhead_ms: 'ms',
  rss_kb_per_tls_ws_agent: 'KB',
  fanout_10k_ms: 'ms',
  job_dispatch_overhead_pct: '%',
  job_rate_error_pct: '%',
  fanout_request_loop_stall_ms: 'ms',
  live_commands_100k_rss_mb: 'MB',
  live_commands_100k_load_ms: 'ms',
  raw_throughput_ratio: '',
  indexer_dispatch_p50_ms: 'ms',
  indexer_dispatch_p99_ms: 'ms',
  auth_per_s: 'authentications/s',
  auth_uncached_per_s: 'authentications/s',
  auth_route_per_s: 'authentications/s',
  os_cpu_ms_per_cmd: 'ms',
  courier_cpu_ms_per_cmd_os: 'ms',
  courier_cpu_growth: '× one node',
  os_throughput_cmds_per_s: 'commands/s',
  cross_node_dispatch_p50_ms: 'ms',
  cross_node_dispatch_p99_ms: 'ms',
};

/** `met`, `missed by …`, or '' when the metric has no budget. */
export function verdict(name: MetricName, value: number): string {
  const limit = BUDGET[baseName(name)];
  if (!limit) return '';
  if (limit.max !== undefined) return value <= limit.max ? 'met' : `missed by ${fmt(value - limit.max)} (${fmt((value / limit.max - 1) * 100)}%)`;
  if (limit.min !== undefined) return value >= limit.min ? 'met' : `missed by ${fmt(limit.min - value)} (${fmt((1 - value / limit.min) * 100)}%)`;
  return '';
}

export function budgetText(name: MetricName): string {
  const limit = BUDGET[baseName(name)];
  if (!limit) return '';
  return limit.max !== undefined ? `<= ${limit.max}` : `>= ${limit.min}`;
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100);
}

/** The results as an aligned text table. */
export function resultTable(results: Results): string {
  // In the order of METRIC_UNITS; labelled figures (one per node count) in the order they were measured.
  const order = Object.keys(METRIC_UNITS);
  const names = (Object.keys(results) as MetricName[]).sort((a, b) => order.indexOf(baseName(a)) - order.indexOf(baseName(b)));
  const rows = names.map((name) => [name, `${results[name]} ${METRIC_UNITS[baseName(name)]}`.trim(), budgetText(name), verdict(name, results[name]!)]);
  const header = ['metric', 'value', 'budget', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
