// The OpenSearch test node itself: it must be a real OpenSearch with the features courier's
// OpenSearch store relies on (1-shard indices, optimistic concurrency, painless _update_by_query,
// _seq_no tailing) and must survive a stop and restart on the same data dir and port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSearchUnavailableReason, startOpenSearchNode, type OpenSearchNode } from './opensearch-node.js';

interface Reply {
  status: number;
  body: Record<string, any>;
}

async function call(node: OpenSearchNode, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(node.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test('OpenSearch test node', { timeout: 10 * 60_000 }, async (t) => {
  const reason = openSearchUnavailableReason();
  if (reason !== null) {
    if (process.env.CI === 'true') assert.fail(`the OpenSearch test tier must run in CI, but: ${reason}`);
    console.warn(
      [
        '',
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        '!!  OpenSearch test tier SKIPPED: ' + reason,
        '!!  Install a Java 17+ JDK and Maven to run the tests against a real OpenSearch.',
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        '',
      ].join('\n'),
    );
    t.skip(reason);
    return;
  }

  let node = await startOpenSearchNode();
  t.diagnostic(`node ready at ${node.url} in ${node.startMs} ms`);
  const index = 'commands-test';
  try {
    await t.test('cluster health is green or yellow', async () => {
      const { status, body } = await call(node, 'GET', '/_cluster/health');
      assert.equal(status, 200);
      assert.ok(['green', 'yellow'].includes(body.status), `health ${body.status}`);
    });

    await t.test('creates a 1-shard index with no replica', async () => {
      const created = await call(node, 'PUT', `/${index}`, {
        settings: { number_of_shards: 1 },
        mappings: { properties: { state: { type: 'keyword' } } },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.body.acknowledged, true);
      const settings = await call(node, 'GET', `/${index}/_settings`);
      assert.equal(settings.body[index].settings.index.number_of_shards, '1');
      assert.equal(settings.body[index].settings.index.number_of_replicas, '0');
      const health = await call(node, 'GET', `/_cluster/health/${index}?wait_for_status=green&timeout=30s`);
      assert.equal(health.body.status, 'green');
    });

    await t.test('if_seq_no/if_primary_term: a current pair wins, a stale one is a 409', async () => {
      const first = await call(node, 'PUT', `/${index}/_doc/a?refresh=true`, { state: 'queued' });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const { _seq_no: seqNo, _primary_term: primaryTerm } = first.body;
      assert.equal(typeof seqNo, 'number');
      assert.equal(typeof primaryTerm, 'number');

      const next = await call(node, 'PUT', `/${index}/_doc/a?refresh=true&if_seq_no=${seqNo}&if_primary_term=${primaryTerm}`, {
        state: 'delivered',
      });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.ok(next.body._seq_no > seqNo);

      const stale = await call(node, 'PUT', `/${index}/_doc/a?if_seq_no=${seqNo}&if_primary_term=${primaryTerm}`, {
        state: 'lost-update',
      });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.error.type, 'version_conflict_engine_exception');
      const doc = await call(node, 'GET', `/${index}/_doc/a`);
      assert.equal(doc.body._source.state, 'delivered');
    });

    await t.test('_update_by_query runs a painless script', async () => {
      for (const id of ['b', 'c']) {
        const res = await call(node, 'PUT', `/${index}/_doc/${id}`, { state: 'queued' });
        assert.equal(res.status, 201);
      }
      await call(node, 'POST', `/${index}/_refresh`);
      const res = await call(node, 'POST', `/${index}/_update_by_query?refresh=true&conflicts=proceed`, {
        query: { term: { state: 'queued' } },
        script: { lang: 'painless', source: 'ctx._source.state = params.to', params: { to: 'expired' } },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.updated, 2);
      assert.deepEqual(res.body.failures, []);
      const expired = await call(node, 'POST', `/${index}/_count`, { query: { term: { state: 'expired' } } });
      assert.equal(expired.body.count, 2);
    });

    await t.test('_search with seq_no_primary_term, sorted by _seq_no, tails the index', async () => {
      const all = await call(node, 'POST', `/${index}/_search`, {
        seq_no_primary_term: true,
        sort: [{ _seq_no: 'asc' }],
        size: 100,
      });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      const seqNos: number[] = all.body.hits.hits.map((h: { _seq_no: number }) => h._seq_no);
      assert.equal(seqNos.length, 3);
      assert.ok(seqNos.every((n) => Number.isInteger(n)));
      assert.deepEqual(
        [...seqNos].sort((x, y) => x - y),
        seqNos,
      );
      assert.ok(all.body.hits.hits.every((h: { _primary_term?: number }) => typeof h._primary_term === 'number'));

      // A tail cursor: only what came after the first hit.
      const after = await call(node, 'POST', `/${index}/_search`, {
        seq_no_primary_term: true,
        sort: [{ _seq_no: 'asc' }],
        query: { range: { _seq_no: { gt: seqNos[0] } } },
      });
      assert.equal(after.status, 200, JSON.stringify(after.body));
      assert.deepEqual(
        after.body.hits.hits.map((h: { _seq_no: number }) => h._seq_no),
        seqNos.slice(1),
      );
    });

    await t.test('stop and restart on the same data dir and port keeps the documents', async () => {
      const before = await call(node, 'GET', `/${index}/_doc/a`);
      const { port, dataDir } = node;
      await node.stop();
      await assert.rejects(fetch(node.url), 'the stopped node still answers');

      node = await startOpenSearchNode({ port, dataDir });
      t.diagnostic(`restarted on port ${node.port} in ${node.startMs} ms`);
      assert.equal(node.port, port);
      const health = await call(node, 'GET', `/_cluster/health/${index}?wait_for_status=green&timeout=30s`);
      assert.equal(health.body.status, 'green');
      const after = await call(node, 'GET', `/${index}/_doc/a`);
      assert.equal(after.status, 200);
      assert.deepEqual(after.body._source, before.body._source);
      assert.equal(after.body._seq_no, before.body._seq_no);
      const count = await call(node, 'GET', `/${index}/_count`);
      assert.equal(count.body.count, 3);
    });
  } finally {
    await node.stop();
  }
});
