// Jobs on the OpenSearch store against a real node: the same store-level tests as the embedded
// store's, and the conditional write that keeps a job driven by one node at a time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import { jobRecord, jobStoreTests } from '../../support/job-store-suite.js';
import { indexPrefix, openSearchTier } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

describe('OpenSearch store: jobs', { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  before(async () => {
    const url = await tier.url();
    store = new OpenSearchStore({
      client: createOpenSearchClient({ url }),
      names: indexNames(indexPrefix('jobs-store')),
      node: 'node-j',
      logger: pino({ level: 'silent' }),
      pageSize: 100,
    });
    await store.open();
  });
  after(() => store?.close());
  jobStoreTests(() => store, 0);

  test('of two nodes saving a job on the version both read, one is refused: COURIER_ERR_JOB_LEASE_LOST', async () => {
    const jobs = store.jobs;
    const job = jobRecord({ lease: { node: 'node-1', until: Date.now() + 10_000 } });
    const version = await jobs.add(job, { job_id: job.id, from: null, to: 'scheduled', cause: 'created', at: 1, node: 'node-1', actor: 't' });
    assert.ok(version);
    const mine = await jobs.save({ ...job, version, lease: { node: 'node-2', until: Date.now() + 10_000 } }, null);
    await assert.rejects(jobs.save({ ...job, version, status: 'paused' }, null), { code: 'COURIER_ERR_JOB_LEASE_LOST' });
    const read = await jobs.get(job.id);
    assert.deepEqual([read!.status, read!.lease!.node, read!.version], ['scheduled', 'node-2', mine]);
  });
});
