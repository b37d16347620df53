// The indexer poller against a real OpenSearch node, through a proxy that fails chosen requests:
// it tails new documents past a durable cursor, page by page, and never moves the cursor past a
// failed or partial read; the re-scan finds what is behind the cursor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { CommandState } from '../../src/domain/command.js';
import { IndexerPoller } from '../../src/poller/indexer-poller.js';
import { createOpenSearchClient } from '../../src/store/opensearch/client.js';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../src/store/opensearch/opensearch-store.js';
import { eventually } from '../support/courier-harness.js';
import { FaultyProxy, type SeenRequest } from '../support/faulty-proxy.js';
import { cluster, indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../support/opensearch-tier.js';

const tier = openSearchTier();

/** Log lines, parsed, for asserting what was logged and how often. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** A tail search: a search of the commands index on a `_seq_no` range. */
function isTailSearch(request: SeenRequest, names: IndexNames): boolean {
  return request.path.startsWith(`/${names.commands}/_search`) && request.body.includes('"_seq_no":{"gt"');
}

interface Rig {
  names: IndexNames;
  store: OpenSearchStore;
  poller: IndexerPoller;
  seen: CommandState[];
  lines: { level: number; msg: string }[];
  stop(): Promise<void>;
}

describe('indexer poller', { skip: tier.skip }, () => {
  let url: string;
  let proxy: FaultyProxy;

  before(async () => {
    url = await tier.url();
    proxy = new FaultyProxy(url);
    await proxy.start();
  });
  after(() => proxy.stop());

  /** A store (through the proxy) and a poller on a fresh prefix; `observe` only records. */
  async function rig(prefix: string, options: { pageSize?: number; rescanIntervalMs?: number; node?: string } = {}): Promise<Rig> {
    const names = indexNames(prefix);
    const { logger, lines } = capturingLogger();
    const pageSize = options.pageSize ?? 5;
    const store = new OpenSearchStore({ client: createOpenSearchClient({ url: proxy.url }), names, node: options.node ?? 'node-p', logger, pageSize });
    await store.open();
    const seen: CommandState[] = [];
    const poller = new IndexerPoller({
      source: store,
      observe: (states) => seen.push(...states),
      node: options.node ?? 'node-p',
      logger,
      pollIntervalMs: 50,
      rescanIntervalMs: options.rescanIntervalMs ?? 3_600_000, // only the tail can find anything
      pageSize,
      maxBackoffMs: 200,
    });
    await poller.prepare();
    poller.start();
    return {
      names,
      store,
      poller,
      seen,
      lines,
      async stop() {
        await poller.stop();
        await store.close();
      },
    };
  }

  const ids = (states: CommandState[]) => states.map((s) => s.doc.document_id);
  const allSeen = (r: Rig, expected: string[]) =>
    eventually(() => (expected.every((id) => ids(r.seen).includes(id)) ? true : undefined), `${expected.length} documents to be observed`);

  test('tails new documents page by page (page size 5, 23 documents), each once, oldest first', async () => {
    const r = await rig(indexPrefix('tail'));
    try {
      const written = await indexCommands(
        url,
        r.names.commands,
        Array.from({ length: 23 }, (_, i) => wazuhCommand(`agent-${i % 4}`)),
      );
      await allSeen(r, written);
      assert.deepEqual(ids(r.seen), written);
      assert.ok(r.seen.every((s) => s.status === 'pending' && s.doc.route.startsWith('agent:agent-')));
      // The cursor is written to the cluster once the tail is through.
      const last = (await cluster(url, 'GET', `/${r.names.commands}/_stats?level=shards`)).body;
      const checkpoint = (Object.values(last.indices)[0] as any).shards['0'][0].seq_no.global_checkpoint;
      await eventually(async () => {
        const cursor = await cluster(url, 'GET', `/${r.names.state}/_doc/tail-cursor:node-p`);
        return cursor.body._source.cursor === checkpoint ? true : undefined;
      }, 'the durable cursor to reach the checkpoint');
    } finally {
      await r.stop();
    }
  });

  test('the cursor is durable: after a restart the poller reads only what is new', async () => {
    const prefix = indexPrefix('durable');
    const first = await rig(prefix);
    const old = await indexCommands(
      url,
      indexNames(prefix).commands,
      Array.from({ length: 7 }, () => wazuhCommand('agent-d')),
    );
    await allSeen(first, old);
    await first.stop();
    const fresh = await indexCommands(
      url,
      indexNames(prefix).commands,
      Array.from({ length: 3 }, () => wazuhCommand('agent-d')),
    );
    const second = await rig(prefix);
    try {
      await allSeen(second, fresh);
      assert.deepEqual(ids(second.seen), fresh);
    } finally {
      await second.stop();
    }
  });

  test('a failed second page leaves the cursor after the first; nothing is skipped', async () => {
    const prefix = indexPrefix('fail-page');
    const names = indexNames(prefix);
    let tailSearches = 0;
    proxy.decide = (request) => (isTailSearch(request, names) && ++tailSearches === 2 ? 'unavailable' : 'pass');
    const r = await rig(prefix);
    try {
      const written = await indexCommands(
        url,
        names.commands,
        Array.from({ length: 12 }, () => wazuhCommand('agent-f')),
      );
      await allSeen(r, written);
      assert.ok(tailSearches > 3, `the tail was retried (${tailSearches} tail searches)`);
      // Page one (5) was handed over before the failure; after it, the tail resumed after page one.
      assert.deepEqual(ids(r.seen), written);
      // One error when it started failing, one line when it recovered: not one per attempt.
      const count = (text: string) => r.lines.filter((l) => l.msg.includes(text)).length;
      await eventually(() => (count('reading the cluster again') === 1 ? true : undefined), 'the recovery to be logged');
      assert.equal(count('cannot read the cluster'), 1);
    } finally {
      proxy.decide = () => 'pass';
      await r.stop();
    }
  });

  for (const [what, damage] of [
    ['a shard failed', (body: any) => ({ ...body, _shards: { ...body._shards, failed: 1, successful: 0 }, hits: { ...body.hits, hits: body.hits.hits.slice(0, 2) } })],
    ['the search timed out', (body: any) => ({ ...body, timed_out: true, hits: { ...body.hits, hits: body.hits.hits.slice(0, 2) } })],
  ] as const) {
    test(`a partial answer (${what}) is a failed read, not a short last page`, async () => {
      const prefix = indexPrefix('partial');
      const names = indexNames(prefix);
      let damaged = 0;
      proxy.decide = (request) => {
        // Damage the first tail search that has a full page to return.
        if (!isTailSearch(request, names) || damaged > 0) return 'pass';
        return {
          rewrite: (body: any) => {
            if (body.hits.hits.length < 5) return body;
            damaged++;
            return damage(body);
          },
        };
      };
      const r = await rig(prefix);
      try {
        const written = await indexCommands(
          url,
          names.commands,
          Array.from({ length: 9 }, () => wazuhCommand('agent-p')),
        );
        await allSeen(r, written);
        assert.equal(damaged, 1);
        assert.deepEqual([...new Set(ids(r.seen))].sort(), [...written].sort());
      } finally {
        proxy.decide = () => 'pass';
        await r.stop();
      }
    });
  }

  test('while the cluster cannot be read, health says so with the reason', async () => {
    const prefix = indexPrefix('health');
    const r = await rig(prefix);
    try {
      await eventually(() => (r.poller.health().ok ? true : undefined), 'a healthy poller');
      proxy.decide = (request) => (request.path.startsWith(`/${r.names.commands}`) ? 'reset' : 'pass');
      const sick = await eventually(() => {
        const health = r.poller.health();
        return health.ok ? undefined : health;
      }, 'the poller to report the failure');
      assert.match(sick.reason!, /indexer poller/);
      assert.ok(sick.failures >= 1);
      proxy.decide = () => 'pass';
      await eventually(() => (r.poller.health().ok ? true : undefined), 'the poller to recover');
    } finally {
      proxy.decide = () => 'pass';
      await r.stop();
    }
  });

  test('the re-scan finds pending documents behind the cursor and claims whose lease ran out', async () => {
    const prefix = indexPrefix('rescan');
    const names = indexNames(prefix);
    // Written before the poller starts: its cursor begins after them, so only a re-scan can see them.
    const setup = new OpenSearchStore({ client: createOpenSearchClient({ url }), names, node: 'setup', logger: pino({ level: 'silent' }), pageSize: 5 });
    await setup.open();
    await setup.close();
    const pending = await indexCommands(
      url,
      names.commands,
      Array.from({ length: 6 }, () => wazuhCommand('agent-r')),
    );
    const lapsed = wazuhCommand('agent-r');
    const [claimed] = await indexCommands(url, names.commands, [
      {
        ...lapsed,
        command: { ...lapsed.command, status: 'sent' },
        courier: { route: 'agent:agent-r', seq: 0, attempts: 1, claim: { node: 'dead-node', until: Date.now() - 1000 } },
      },
    ]);
    const done = wazuhCommand('agent-r');
    await indexCommands(url, names.commands, [{ ...done, command: { ...done.command, status: 'success' } }]);
    const r = await rig(prefix, { rescanIntervalMs: 200 });
    try {
      await allSeen(r, [...pending, claimed!]);
      const byId = new Map(r.seen.map((s) => [s.doc.document_id, s]));
      assert.equal(byId.get(claimed!)!.status, 'sent');
      assert.equal(byId.get(claimed!)!.claim!.node, 'dead-node');
      assert.equal(r.seen.filter((s) => s.status === 'success').length, 0);
    } finally {
      await r.stop();
    }
  });

  test('a recreated commands index is tailed from its start', async () => {
    const prefix = indexPrefix('recreate');
    const r = await rig(prefix);
    try {
      const first = await indexCommands(
        url,
        r.names.commands,
        Array.from({ length: 8 }, () => wazuhCommand('agent-x')),
      );
      await allSeen(r, first);
      await cluster(url, 'DELETE', `/${r.names.commands}`);
      const again = await indexCommands(
        url,
        r.names.commands,
        Array.from({ length: 2 }, () => wazuhCommand('agent-x')),
      );
      await allSeen(r, again);
      assert.ok(r.lines.some((l) => l.msg.includes('recreated')));
    } finally {
      await r.stop();
    }
  });
});
