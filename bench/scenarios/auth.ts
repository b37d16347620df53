import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { wazuhKeyHash } from '../../src/auth/wazuh-key-hash.js';
import { requestJson } from '../../src/http-client.js';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { round } from '../stats.js';
import { agentIds, freshCourier, type BenchContext } from './context.js';

/** Checks in flight at once: re-authentications of a fleet arrive concurrently. */
const IN_PROCESS_CONCURRENCY = 64;
/** Clients of the agents API at once, each on a keep-alive connection. */
const HTTP_CONCURRENCY = 32;

/** Runs `work` on every item, `concurrency` at a time. */
async function eachConcurrently<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Calls `work` over and over from `concurrency` callers for `ms`; returns how many calls ended, per second. */
async function ratePerSecond(ms: number, concurrency: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const start = performance.now();
  const until = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = worker; performance.now() < until; i += concurrency) {
        await work(i);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/**
 * Re-authentications of agents registered by Wazuh (their key stored as Wazuh's PBKDF2 hash,
 * 100,000 iterations). Three figures:
 *
 * - `auth_per_s` (budgeted): cached re-authentications through `AgentRegistry.authenticate`, the
 *   credential check `POST /api/v1/authentication` runs (the agent read from a real SQLite store,
 *   then the verification cache), in this process. This is what the Wazuh key format costs.
 * - `auth_uncached_per_s`: the same agents' first authentications, each a PBKDF2 on the thread
 *   pool; the event loop's longest stall meanwhile is printed (it stays free).
 * - `auth_route_per_s`: the whole exchange against courier as its own process, over HTTP: the
 *   check, then signing the token (RS256), which is what bounds it.
 */
export async function runAuth(ctx: BenchContext): Promise<void> {
  const { plan, note, results } = ctx;
  const count = plan.quick ? 50 : 200;
  const measureMs = Math.min(plan.throughputMs, 10_000);
  const ids = agentIds('au', count);
  // One key for all (Wazuh gives each its own): its hash is made once here. Each agent's first check
  // is still a full derivation, the cache being per agent.
  const key = randomBytes(24).toString('hex');
  const stored = await wazuhKeyHash(key, randomBytes(16));

  const dir = mkdtempSync(join(tmpdir(), 'courier-bench-auth-'));
  const store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
  try {
    await store.open();
    for (const id of ids) await store.addAgent({ id, keyHash: stored, groups: [], createdAt: Date.now() });
    const registry = new AgentRegistry(store);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const coldStart = performance.now();
    await eachConcurrently(ids, IN_PROCESS_CONCURRENCY, (id) => registry.authenticate(id, key));
    const coldS = (performance.now() - coldStart) / 1000;
    loop.disable();
    results.auth_uncached_per_s = round(count / coldS);
    results.auth_per_s = round(await ratePerSecond(measureMs, IN_PROCESS_CONCURRENCY, (i) => registry.authenticate(ids[i % count]!, key)), 0);
    note(
      `auth: ${count} agents with Wazuh key hashes: first authentications ${results.auth_uncached_per_s}/s (PBKDF2 on the thread pool; ` +
        `event loop's longest stall meanwhile ${round(loop.max / 1e6, 1)} ms), re-authentications ${results.auth_per_s}/s (cached; ${IN_PROCESS_CONCURRENCY} at once)`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const node = await freshCourier();
  const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
  try {
    const { courier, dataDir } = node;
    await eachConcurrently(ids, 8, async (id) => {
      const res = await courier.admin('POST', '/api/v1/agents', { id, key, groups: [] });
      if (res.status !== 201) throw new Error(`registering ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    });
    // As if Wazuh had registered them: courier registers agents with its own hash format.
    const db = new Database(join(dataDir, 'courier.db'));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare(`UPDATE agents SET key_hash = ? WHERE id LIKE 'au-%'`).run(stored);
    } finally {
      db.close();
    }
    const login = async (id: string) => {
      const res = await requestJson({ baseUrl: courier.url, method: 'POST', path: '/api/v1/authentication', body: { uuid: id, key }, agent });
      if (res.status !== 200) throw new Error(`authentication of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    };
    await eachConcurrently(ids, HTTP_CONCURRENCY, login);
    results.auth_route_per_s = round(await ratePerSecond(measureMs, HTTP_CONCURRENCY, (i) => login(ids[i % count]!)), 0);
    note(`auth: POST /api/v1/authentication against courier's process, cached Wazuh keys, ${HTTP_CONCURRENCY} clients: ${results.auth_route_per_s}/s (each signs an RS256 token)`);
  } finally {
    agent.destroy();
    await node.dispose();
  }
}
