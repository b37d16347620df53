import type { MetricName, Results } from './scenarios/context.js';

/** The performance budget: each figure must stay on the right side of its limit. */
export const BUDGET: Partial<Record<MetricName, { max?: number; min?: number }>> = {
  ws_dispatch_p99_ms: { max: 10 },
  longpoll_dispatch_p99_ms: { max: 20 },
  throughput_cmds_per_s: { min: 20_000 },
  rss_kb_per_ws_agent: { max: 20 },
  // TLS must cost little: a dispatch p99 within 2 ms of plain WebSocket's in the same run, 40 KB per agent.
  tls_ws_dispatch_p99_overhead_ms: { max: 2 },
  rss_kb_per_tls_ws_agent: { max: 40 },
  fanout_10k_ms: { max: 2000 },
  // One request must not hold every other producer and agent up (a 50,000 fan-out once stalled it 3.1 s).
  fanout_request_loop_stall_ms: { max: 250 },
  live_commands_100k_rss_mb: { max: 600 },
  raw_throughput_ratio: { min: 0.5 },
  indexer_dispatch_p99_ms: { max: 1500 },
  // Cached re-authentications of agents with Wazuh (PBKDF2) keys: a 10,000-agent fleet needs ~11/s.
  auth_per_s: { min: 5000 },
};

export const METRIC_UNITS: Record<MetricName, string> = {
  ws_dispatch_p50_ms: 'ms',
  ws_dispatch_p99_ms: 'ms',
  longpoll_dispatch_p50_ms: 'ms',
  longpoll_dispatch_p99_ms: 'ms',
  throughput_cmds_per_s: 'commands/s',
  rss_kb_per_ws_agent: 'KB',
  rss_kb_per_longpoll_agent: 'KB',
  tls_ws_dispatch_p50_ms: 'ms',
  tls_ws_dispatch_p99_ms: 'ms',
  tls_ws_dispatch_p99_overhead_ms: 'ms',
  rss_kb_per_tls_ws_agent: 'KB',
  fanout_10k_ms: 'ms',
  fanout_request_loop_stall_ms: 'ms',
  live_commands_100k_rss_mb: 'MB',
  live_commands_100k_load_ms: 'ms',
  raw_throughput_ratio: '',
  indexer_dispatch_p50_ms: 'ms',
  indexer_dispatch_p99_ms: 'ms',
  auth_per_s: 'authentications/s',
  auth_uncached_per_s: 'authentications/s',
  auth_route_per_s: 'authentications/s',
};

/** `met`, `missed by …`, or '' when the metric has no budget. */
export function verdict(name: MetricName, value: number): string {
  const limit = BUDGET[name];
  if (!limit) return '';
  if (limit.max !== undefined) return value <= limit.max ? 'met' : `missed by ${fmt(value - limit.max)} (${fmt((value / limit.max - 1) * 100)}%)`;
  if (limit.min !== undefined) return value >= limit.min ? 'met' : `missed by ${fmt(limit.min - value)} (${fmt((1 - value / limit.min) * 100)}%)`;
  return '';
}

export function budgetText(name: MetricName): string {
  const limit = BUDGET[name];
  if (!limit) return '';
  return limit.max !== undefined ? `<= ${limit.max}` : `>= ${limit.min}`;
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100);
}

/** The results as an aligned text table. */
export function resultTable(results: Results): string {
  const rows = (Object.keys(METRIC_UNITS) as MetricName[])
    .filter((name) => results[name] !== undefined)
    .map((name) => [name, `${results[name]} ${METRIC_UNITS[name]}`.trim(), budgetText(name), verdict(name, results[name]!)]);
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
