// The lists of fan-outs and of agents on the OpenSearch store against a real node: the same
// store-level tests as the embedded store's, and a request written by the Wazuh indexer plugin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import { operatorListStoreTests } from '../../support/operator-list-store-suite.js';
import { indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

describe('OpenSearch store: lists of requests and agents', { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  before(async () => {
    const url = await tier.url();
    store = new OpenSearchStore({
      client: createOpenSearchClient({ url }),
      names: indexNames(indexPrefix('operator-lists')),
      node: 'node-l',
      logger: pino({ level: 'silent' }),
      pageSize: 100,
    });
    await store.open();
  });
  after(() => store?.close());
  operatorListStoreTests(() => store);
});

describe('OpenSearch store: a request the Wazuh plugin wrote', { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  let url: string;
  const names = indexNames(indexPrefix('plugin-requests'));
  before(async () => {
    url = await tier.url();
    store = new OpenSearchStore({ client: createOpenSearchClient({ url }), names, node: 'node-p', logger: pino({ level: 'silent' }), pageSize: 100 });
    await store.open();
  });
  after(() => store?.close());

  test('is listed with its status as the plugin spells it, its action, target and user', async () => {
    const doc = wazuhCommand('web-9', { action: 'restart', at: Date.parse('2026-03-01T00:00:00Z'), user: 'wazuh-admin' });
    await indexCommands(url, names.commands, [doc]);
    const page = await store.operators.listRequests({}, { limit: 10 });
    assert.deepEqual(page.items, [
      {
        request_id: doc.command.request_id,
        created_at: Date.parse('2026-03-01T00:00:00Z'),
        total: 1,
        counts: { pending: 1, sent: 0, delivered: 0, success: 0, failure: 0, timed_out: 0, cancelled: 0 },
        action: 'restart',
        target_type: 'agent',
        target_id: 'web-9',
        source: 'Users/Services',
        user: 'wazuh-admin',
      },
    ]);
    assert.equal(page.next, null);
  });
});
