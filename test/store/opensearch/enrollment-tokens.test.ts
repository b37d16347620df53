// Enrollment tokens on the OpenSearch store against a real node: the same store-level tests as the
// embedded store's (uses counted with if_seq_no/if_primary_term, never past max_uses under concurrency).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import { enrollmentTokenStoreTests } from '../../support/enrollment-token-store-suite.js';
import { cluster, indexPrefix, openSearchTier } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

describe('OpenSearch store: enrollment tokens', { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  before(async () => {
    const url = await tier.url();
    store = new OpenSearchStore({
      client: createOpenSearchClient({ url }),
      names: indexNames(indexPrefix('enrollment')),
      node: 'node-e',
      logger: pino({ level: 'silent' }),
      pageSize: 100,
    });
    await store.open();
  });
  after(() => store?.close());
  enrollmentTokenStoreTests(() => store);
});

describe('OpenSearch store: an agents index made before agents had names', { skip: tier.skip }, () => {
  test('gets the name field on open: an enrolled agent with a name is stored in it', async () => {
    const url = await tier.url();
    const names = indexNames(indexPrefix('agents-v1'));
    // The mapping of the first version: strict, no agent.name.
    const made = await cluster(url, 'PUT', `/${names.agents}`, {
      mappings: {
        dynamic: 'strict',
        properties: {
          agent: { properties: { id: { type: 'keyword' }, key: { type: 'keyword', index: false }, groups: { type: 'keyword' } } },
          courier: { properties: { created_at: { type: 'date' } } },
        },
      },
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const store = new OpenSearchStore({ client: createOpenSearchClient({ url }), names, node: 'node-e', logger: pino({ level: 'silent' }), pageSize: 100 });
    await store.open();
    try {
      const agent = { id: 'named-1', keyHash: 'h', groups: ['linux'], createdAt: 1, name: 'host-1' };
      assert.equal(await store.addAgent(agent), true);
      assert.deepEqual(await store.getAgent('named-1'), agent);
    } finally {
      await store.close();
    }
  });
});
