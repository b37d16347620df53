// `node dist/bench/store-commit.js`: the embedded store's write path alone, without courier's
// processes, sockets or actors. Commits batches shaped like the throughput phase's group commits
// (see docs/performance.md) and reports the store's CPU per command lifecycle.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { v7 as uuidV7 } from 'uuid';
import type { CommandDocument, CommandStatus } from '../src/domain/command.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { StatusChange, WriteBatch } from '../src/store/store.js';
import { median, round } from './stats.js';

const USAGE = `Usage: node dist/bench/store-commit.js [options]

Commits batches to a fresh SQLite store, each shaped like a group commit of the throughput phase:
the creates of one cohort of commands (one create request), the claims (-> sent) of the cohort before, and the agents'
acks (-> delivered) and results (-> success) of the cohort before that, each command's ack and
result next to each other. Prints the store's CPU per command (its four audited transitions).

Options:
  --cohort <n>    commands per cohort, i.e. creates per batch (default 500)
  --batches <n>   measured batches per run (default 200), after 20 of warm-up
  --runs <n>      runs, each on a fresh database; the median is reported (default 5)
  --split         acks and results in separate batches (no two changes of one command in a batch)
  --sync <mode>   normal | full (default normal, as courier's default)
  -h, --help      this help`;

const NODE = 'bench-node';

/** One command of a create request (`requestId`): the throughput phase posts a cohort per request. */
function document(seq: number, now: number, requestId: string): CommandDocument {
  const agent = `ws-${String(seq % 10_000).padStart(5, '0')}`;
  return {
    // Time-ordered, as the ids courier chooses (src/runtime/command-factory.ts).
    document_id: uuidV7(),
    '@timestamp': new Date(now).toISOString(),
    delivery_timestamp: new Date(now + 3_600_000).toISOString(),
    agent: { id: agent, groups: ['bench-ws'] },
    command: {
      source: 'bench',
      target: { type: 'agent', id: agent },
      action: { name: 'bench-throughput', args: { tag: 'throughput', sent_at: now + 0.123 }, version: '1' },
      timeout: 3600,
      request_id: requestId,
      order_id: randomUUID(),
    },
    route: `agent:${agent}`,
    seq,
  };
}

function change(doc: CommandDocument, from: CommandStatus, to: CommandStatus, cause: string, at: number): StatusChange {
  const delivered = to === 'delivered' || to === 'success';
  return {
    document_id: doc.document_id,
    seq: doc.seq,
    status: to,
    result: to === 'success' ? { code: 0, message: 'done' } : null,
    deliveredAt: delivered ? at : null,
    executionDeadline: delivered ? at + 3_600_000 : null,
    attempts: to === 'pending' ? 0 : 1,
    claim: to === 'sent' ? { node: NODE, until: at + 30_000 } : null,
    audit: { document_id: doc.document_id, from, to, cause, at, node: NODE, actor: to === 'sent' ? 'courier' : `agent:${doc.agent.id}` },
  };
}

interface Run {
  /** Store CPU (user + system) per command, µs. */
  cpuUs: number;
  /** Wall time of the commits per command, µs. */
  wallUs: number;
}

async function run(cohort: number, batches: number, split: boolean, sync: 'normal' | 'full'): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'courier-store-commit-'));
  const store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: sync });
  try {
    await store.open();
    const cohorts: CommandDocument[][] = [];
    let seq = 0;
    let now = Date.now();
    const warmup = 20;
    let cpu = 0;
    let wall = 0;
    let commands = 0;
    for (let b = 0; b < warmup + batches; b++) {
      now += 5;
      const requestId = uuidV7();
      const fresh = Array.from({ length: cohort }, () => document(++seq, now, requestId));
      cohorts.push(fresh);
      const claimed = cohorts[b - 1] ?? [];
      const done = cohorts[b - 2] ?? [];
      const batch: WriteBatch = {
        creates: fresh.map((doc) => ({ doc, audit: { document_id: doc.document_id, from: null, to: 'pending', cause: 'created', at: now, node: NODE, actor: 'user:bench' } })),
        changes: claimed.map((doc) => change(doc, 'pending', 'sent', 'claimed', now)),
      };
      const finals = done.flatMap((doc) => [change(doc, 'sent', 'delivered', 'delivered', now), change(doc, 'delivered', 'success', 'result', now)]);
      // Split: the acks in this batch, the results in a batch of their own right after.
      const later = split ? finals.filter((c) => c.status === 'success') : [];
      batch.changes.push(...(split ? finals.filter((c) => c.status === 'delivered') : finals));
      const batchesNow = later.length > 0 ? [batch, { creates: [], changes: later }] : [batch];
      const cpuStart = process.cpuUsage();
      const wallStart = performance.now();
      for (const each of batchesNow) await store.commit(each);
      const wallTook = performance.now() - wallStart;
      const cpuTook = process.cpuUsage(cpuStart);
      if (b >= warmup) {
        cpu += cpuTook.user + cpuTook.system;
        wall += wallTook * 1000;
        commands += cohort;
      }
      if (b >= 2) cohorts[b - 2] = [];
    }
    return { cpuUs: cpu / commands, wallUs: wall / commands };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cohort: { type: 'string', default: '500' },
      batches: { type: 'string', default: '200' },
      runs: { type: 'string', default: '5' },
      split: { type: 'boolean', default: false },
      sync: { type: 'string', default: 'normal' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [cohort, batches, runs] = [values.cohort, values.batches, values.runs].map(Number) as [number, number, number];
  const sync = values.sync as 'normal' | 'full';
  if (![cohort, batches, runs].every((n) => Number.isInteger(n) && n > 0) || (sync !== 'normal' && sync !== 'full')) {
    console.error(`store-commit: bad options\n\n${USAGE}`);
    return 2;
  }
  const results: Run[] = [];
  for (let r = 0; r < runs; r++) {
    const result = await run(cohort, batches, values.split, sync);
    results.push(result);
    console.log(`run ${r + 1}: store CPU ${round(result.cpuUs)} µs / command, wall ${round(result.wallUs)} µs / command`);
  }
  const cpu = median(results.map((r) => r.cpuUs));
  const wall = median(results.map((r) => r.wallUs));
  console.log(
    `store commit, ${cohort} commands per cohort${values.split ? ', acks and results in separate batches' : ''}, synchronous=${sync}: ` +
      `median store CPU ${round(cpu)} µs per command (4 audited transitions), wall ${round(wall)} µs`,
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
