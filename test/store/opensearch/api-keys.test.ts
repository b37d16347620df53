// API keys on the OpenSearch store against a real node: the same store-level tests as the embedded
// store's (a key's document updated by scripts from several nodes at once: each retried on a conflict).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import { apiKeyStoreTests, keyAudit, keyRecord } from '../../support/api-key-store-suite.js';
import { cluster, indexPrefix, openSearchTier } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

describe('OpenSearch store: API keys', { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  before(async () => {
    const url = await tier.url();
    store = new OpenSearchStore({
      client: createOpenSearchClient({ url }),
      names: indexNames(indexPrefix('api-keys')),
      node: 'node-k',
      logger: pino({ level: 'silent' }),
      pageSize: 100,
    });
    await store.open();
  });
  after(() => store?.close());
  apiKeyStoreTests(() => store.operators);
});

describe('OpenSearch store: key and audit indices made before keys could expire', { skip: tier.skip }, () => {
  test('get the new fields on open: a key with an expiry and a last use is stored, and its audit record', async () => {
    const url = await tier.url();
    const names = indexNames(indexPrefix('keys-v1'));
    // The mappings of the versions before (strict): no expires_at, last_used_at, key_id.
    const keyword = { type: 'keyword' };
    const date = { type: 'date' };
    const keys = await cluster(url, 'PUT', `/${names.apiKeys}`, {
      mappings: {
        dynamic: 'strict',
        properties: { id: keyword, name: keyword, role: keyword, scopes: keyword, key_hash: { type: 'keyword', index: false }, created_at: date, revoked_at: date },
      },
    });
    assert.equal(keys.status, 200, JSON.stringify(keys.body));
    const audit = await cluster(url, 'PUT', `/${names.audit}`, {
      mappings: {
        dynamic: 'strict',
        properties: {
          kind: keyword,
          document_id: keyword,
          job_id: keyword,
          from: keyword,
          to: keyword,
          cause: keyword,
          at: date,
          node: keyword,
          actor: keyword,
          detail: { type: 'keyword', index: false },
        },
      },
    });
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const store = new OpenSearchStore({ client: createOpenSearchClient({ url }), names, node: 'node-k', logger: pino({ level: 'silent' }), pageSize: 100 });
    await store.open();
    try {
      const key = keyRecord({ expiresAt: 1_900_000_000_000 });
      await store.operators.addApiKey(key, keyAudit(key, 'created', 1));
      await store.operators.touchApiKey(key.id, 2);
      assert.deepEqual(await store.operators.getApiKey(key.id), { ...key, lastUsedAt: 2 });
      const trail = (await store.operators.queryAudit({ kind: 'key' }, { limit: 10 })).items;
      assert.deepEqual(
        trail.map((e) => (e.kind === 'key' ? e.key_id : e.kind)),
        [key.id],
      );
    } finally {
      await store.close();
    }
  });
});
