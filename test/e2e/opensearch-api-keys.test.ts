// Two courier nodes on one cluster share their operator keys: a key made on one node works on the
// other, its last use is recorded by whichever node it used, and a revocation on one is refused by both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startHarnesses, type Harness } from '../support/courier-harness.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

interface KeyView {
  id: string;
  status: string;
  last_used_at: string | null;
}

describe('courier on OpenSearch: operator keys on several nodes', { skip: tier.skip }, () => {
  let a: Harness;
  let b: Harness;
  let root: string;

  before(async () => {
    const url = await tier.url();
    const shared = { opensearch: url, opensearchIndexPrefix: indexPrefix('api-keys-nodes'), pollInterval: '200ms', longPollTimeout: '1s' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-ka' }, { ...shared, node: 'node-kb' })) as [Harness, Harness];
    root = await a.createKey('admin', [], 'root');
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  test('made on a, used on both (last use recorded), revoked on b: refused by both, audited once each', async () => {
    const made = await b.mgmt('POST', '/api/v1/keys', { key: root, body: { role: 'operator', expires_in: 600 } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { id, key } = made.body as { id: string; key: string };
    const read = async (h: Harness) => (await h.mgmt('GET', `/api/v1/keys/${id}`, { key: root })).body as KeyView;
    // Both nodes write its first use at once: neither write is lost to the other.
    const uses = await Promise.all([a, b, a, b].map((h) => h.mgmt('GET', '/api/v1/commands', { key })));
    assert.deepEqual(
      uses.map((u) => u.status),
      [200, 200, 200, 200],
    );
    await eventually(async () => ((await read(a)).last_used_at !== null ? true : undefined), 'the last use recorded');

    assert.equal((await b.mgmt('DELETE', `/api/v1/keys/${id}`, { key: root })).status, 200);
    for (const h of [a, b]) {
      const res = await h.mgmt('GET', '/api/v1/commands', { key });
      assert.deepEqual([res.status, (res.body as { code: string }).code], [401, 'COURIER_ERR_INVALID_API_KEY']);
    }
    assert.equal((await read(a)).status, 'revoked');
    const trail = ((await a.mgmt('GET', '/api/v1/audit?kind=key&limit=100', { key: root })).body as { items: { key_id: string; cause: string; node: string }[] }).items;
    assert.deepEqual(
      trail.filter((e) => e.key_id === id).map((e) => [e.cause, e.node]),
      [
        ['created', 'node-kb'],
        ['revoked', 'node-kb'],
      ],
    );
  });
});
