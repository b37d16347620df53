// `npm run bench`: courier against simulated agents, with the raw floor of this machine measured
// in the same run. See docs/performance.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resultTable } from './budget.js';
import { Fleet } from './fleet.js';
import { currentLoad, describeMachine } from './machine.js';
import { parsePlan, USAGE, type Plan } from './options.js';
import { selfTimeByArea, topAllocations, topSelfTime } from './profile.js';
import { runAuth } from './scenarios/auth.js';
import type { BenchContext } from './scenarios/context.js';
import { runIndexer } from './scenarios/indexer.js';
import { runLiveCommands } from './scenarios/live-commands.js';
import { runLongPoll } from './scenarios/long-poll.js';
import { runScaleOut } from './scenarios/scale-out.js';
import { runRawFloor } from './scenarios/raw-floor.js';
import { runWebSocket } from './scenarios/websocket.js';
import { runTlsWebSocket } from './scenarios/tls-websocket.js';
import { runWorkers } from './scenarios/workers.js';

async function main(argv: string[]): Promise<number> {
  let plan: Plan | null;
  try {
    plan = parsePlan(argv);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!plan) {
    console.log(USAGE);
    return 0;
  }
  const machine = describeMachine();
  const date = new Date().toISOString();
  console.log(`courier benchmark ${plan.quick ? '(quick) ' : ''}— ${date}`);
  console.log(`machine: ${machine.cores} cores, ${machine.cpu}, ${machine.memory_gb} GB, Node ${machine.node}, ${machine.os}; load average ${machine.load_1m_at_start}`);
  console.log(
    `load: ${plan.agents} agents per transport, ${plan.dispatchSamples} dispatch samples at ${plan.dispatchRate}/s, ` +
      `${plan.throughputMs / 1000} s throughput, ${plan.liveCommands} live commands\n`,
  );
  if (plan.cpuProfDir) mkdirSync(plan.cpuProfDir, { recursive: true });
  warnOnFileLimit(plan.agents);

  const fleet = new Fleet();
  const ctx: BenchContext = {
    plan,
    fleet,
    results: {},
    unavailable: {},
    profiles: new Map(),
    note: (line) => console.log(`  ${line}`),
  };
  let agentErrors = 0;
  let lastAgentError: string | null = null;
  try {
    if (plan.scenarios.has('websocket')) {
      const ws = await runWebSocket(ctx);
      await runRawFloor(ctx, ws);
    }
    if (plan.scenarios.has('workers')) await runWorkers(ctx);
    if (plan.scenarios.has('tls-websocket')) await runTlsWebSocket(ctx);
    if (plan.scenarios.has('long-poll')) await runLongPoll(ctx);
    if (plan.scenarios.has('live-commands')) await runLiveCommands(ctx);
    if (plan.opensearch && plan.scenarios.has('indexer')) await runIndexer(ctx, plan.opensearch);
    if (plan.opensearch && plan.scenarios.has('scale-out')) await runScaleOut(ctx, plan.opensearch);
    if (plan.scenarios.has('auth')) await runAuth(ctx);
    const counters = await fleet.counters();
    agentErrors = counters.errors;
    if (agentErrors > 0) lastAgentError = counters.lastError;
  } finally {
    await fleet.close();
  }
  if (agentErrors > 0) console.log(`\n  note: the simulated agents saw ${agentErrors} errors; the last: ${lastAgentError}`);
  machine.load_1m_at_end = currentLoad();
  console.log(`\n  load average at the end: ${machine.load_1m_at_end} (on ${machine.cores} cores; other work on the machine slows every figure)`);

  console.log(`\n${resultTable(ctx.results)}`);
  if (plan.agents < 10_000 || plan.liveCommands < 100_000) {
    console.log(`(scaled down: the budget is set for 10,000 agents and 100,000 live commands; the names keep their full-run meaning)`);
  }
  for (const [scenario, reason] of Object.entries(ctx.unavailable)) console.log(`unavailable: ${scenario}: ${reason}`);
  for (const [phase, file] of ctx.profiles) printProfile(phase, file);

  if (plan.json) {
    const out: Record<string, unknown> = { machine, date, results: ctx.results };
    if (Object.keys(ctx.unavailable).length > 0) out.unavailable = ctx.unavailable;
    writeFileSync(plan.json, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nwrote ${plan.json}`);
  }
  return 0;
}

/** Courier and the load process each hold one socket per agent. */
function warnOnFileLimit(agents: number): void {
  const limit = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
  if (Number.isFinite(limit) && limit < agents + 1000) {
    console.log(`  warning: ulimit -n is ${limit}; ${agents} agents need about ${agents + 1000} open files per process\n`);
  }
}

function printProfile(phase: string, file: string): void {
  const { busyMs, idleMs, top } = topSelfTime(file);
  console.log(`\ncourier CPU profile, ${phase}: busy ${busyMs} ms, idle ${idleMs} ms (${file})`);
  console.log(
    `  by area: ${selfTimeByArea(file)
      .slice(0, 9)
      .map((a) => `${a.area} ${(a.share * 100).toFixed(1)}%`)
      .join(', ')}`,
  );
  for (const f of top) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.name}  ${f.where}`);
  const heapFile = file.replace(/\.cpuprofile$/, '.heapprofile');
  const allocations = topAllocations(heapFile);
  console.log(`courier allocations, ${phase}: ${allocations.totalMb.toFixed(0)} MB sampled (${heapFile})`);
  for (const a of allocations.top) console.log(`  ${(a.share * 100).toFixed(1).padStart(5)}%  ${a.mb.toFixed(1).padStart(7)} MB  ${a.name}  ${a.where}`);
}

// Interrupted: exit through process.exit so that the data directories are removed; courier and the
// load process end when their IPC channel to this process closes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
