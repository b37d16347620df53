// Agents' groups on the OpenSearch store against a real node: the same store-level tests as the
// embedded store's (the agent's document updated on its version, then the audit record).
import { after, before, describe } from 'node:test';
import pino from 'pino';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import { membershipStoreTests } from '../../support/membership-store-suite.js';
import { indexPrefix, openSearchTier } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

describe("OpenSearch store: agents' groups", { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  before(async () => {
    const url = await tier.url();
    store = new OpenSearchStore({
      client: createOpenSearchClient({ url }),
      names: indexNames(indexPrefix('groups')),
      node: 'node-g',
      logger: pino({ level: 'silent' }),
      pageSize: 100,
    });
    await store.open();
  });
  after(() => store?.close());
  membershipStoreTests(() => store);
});
