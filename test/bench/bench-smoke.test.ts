import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'main.js');

/** Every figure a run without --opensearch reports, by these exact names. */
const METRICS = [
  'ws_dispatch_p50_ms',
  'ws_dispatch_p99_ms',
  'longpoll_dispatch_p50_ms',
  'longpoll_dispatch_p99_ms',
  'throughput_cmds_per_s',
  'cpu_us_per_cmd',
  'workers2_throughput_cmds_per_s',
  'workers2_cpu_us_per_cmd',
  'workers2_primary_cpu_us_per_cmd',
  'workers2_main_thread_cpu_us_per_cmd',
  'workers2_store_thread_cpu_us_per_cmd',
  'rss_kb_per_ws_agent',
  'rss_kb_per_longpoll_agent',
  'tls_ws_dispatch_p50_ms',
  'tls_ws_dispatch_p99_ms',
  'tls_ws_dispatch_p99_overhead_ms',
  'rss_kb_per_tls_ws_agent',
  'fanout_10k_ms',
  'fanout_request_loop_stall_ms',
  'job_dispatch_overhead_pct',
  'job_rate_error_pct',
  'live_commands_100k_rss_mb',
  'live_commands_100k_load_ms',
  'raw_throughput_ratio',
  'auth_per_s',
  'auth_uncached_per_s',
  'auth_route_per_s',
];

// The harness end to end with a tiny load: it must produce every figure. Timings are not
// asserted here (the benchmark, not the test suite, says how fast courier is).
test('npm run bench -- --quick with a tiny load reports every metric as a number', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-bench-smoke-'));
  try {
    const json = join(dir, 'bench.json');
    const args = ['--quick', '--agents', '100', '--live-commands', '1000', '--samples', '40', '--duration', '1', '--json', json];
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the benchmark failed:\n${output}`);

    const report = JSON.parse(readFileSync(json, 'utf8')) as { machine: Record<string, unknown>; date: string; results: Record<string, unknown> };
    assert.equal(typeof report.machine.cores, 'number');
    assert.equal(typeof report.machine.cpu, 'string');
    assert.equal(typeof report.machine.node, 'string');
    assert.ok(!Number.isNaN(Date.parse(report.date)), 'date is an ISO date');
    assert.deepEqual(Object.keys(report.results).sort(), [...METRICS].sort());
    for (const name of METRICS) {
      const value = report.results[name];
      assert.ok(typeof value === 'number' && Number.isFinite(value), `${name} is a finite number, got ${String(value)}`);
      // A memory slope over 100 agents is within the noise of the garbage collector, and so is a
      // difference of two latencies: either may come out below zero. An error may be exactly none.
      // Every other figure is a duration, a rate or a size, measured, never zero.
      if (name === 'job_rate_error_pct') assert.ok(value >= 0, `${name} is not negative, got ${value}`);
      else if (!name.startsWith('rss_kb_per_') && !/_overhead_(ms|pct)$/.test(name)) assert.ok(value > 0, `${name} is positive, got ${value}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The store's own micro-benchmark (npm run bench:store), with a tiny load: it must run and report.
test('npm run bench:store with a tiny load reports the store CPU per command', { timeout: 60_000 }, async () => {
  const script = join(dirname(BENCH), 'store-commit.js');
  for (const extra of [[], ['--split']]) {
    const child = spawn(process.execPath, [script, '--cohort', '20', '--batches', '5', '--runs', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the store benchmark failed:\n${output}`);
    assert.match(output, /median store CPU [0-9.]+ µs per command/);
  }
});
