// A store read that fails is not an absence: while the shard holding an agent's registration cannot
// be read (recovering, unassigned), a producer naming that agent is told to retry (503), not that
// the agent does not exist (400, which it would not retry).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { cluster, indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: reads that fail are not absences', { skip: tier.skip }, () => {
  let url: string;
  let h: Harness;
  let names: IndexNames;

  before(async () => {
    url = await tier.url();
    const prefix = indexPrefix('read-failures');
    names = indexNames(prefix);
    h = await startHarness({ opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '200ms', node: 'node-r' });
  });
  after(() => h?.stop());

  /** The agents index's shard cannot be assigned anywhere: the index is red, its documents unreadable. */
  async function makeAgentsUnreadable(): Promise<void> {
    assert.equal((await cluster(url, 'POST', `/${names.agents}/_close`)).status, 200);
    await cluster(url, 'PUT', `/${names.agents}/_settings`, { 'index.routing.allocation.require._name': 'no-such-node' });
    await cluster(url, 'POST', `/${names.agents}/_open?wait_for_active_shards=0`);
    const health = await cluster(url, 'GET', `/_cluster/health/${names.agents}`);
    assert.equal(health.body.status, 'red');
  }

  async function makeAgentsReadable(): Promise<void> {
    await cluster(url, 'PUT', `/${names.agents}/_settings`, { 'index.routing.allocation.require._name': null });
    await cluster(url, 'GET', `/_cluster/health/${names.agents}?wait_for_status=yellow&timeout=30s`);
  }

  test('an agent whose registration cannot be read is answered 503 (retry), not 400 unknown agent; once readable, the same request works', async () => {
    await h.addAgent('r-1');
    await makeAgentsUnreadable();
    try {
      const refused = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'r-1' })] });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
      assert.match((refused.body as { message: string }).message, /r-1 could not be read/);
    } finally {
      await makeAgentsReadable();
    }
    const created = await eventually(async () => {
      const res = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'r-1' })] });
      return res.status === 201 ? res : undefined;
    }, 'the create to work once the shard is back');
    assert.equal((created.body as { commands: { agent: { id: string } }[] }).commands[0]!.agent.id, 'r-1');
    const unknown = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'r-never-registered' })] });
    assert.equal(unknown.status, 400);
    assert.equal((unknown.body as { code: string }).code, 'COURIER_ERR_UNKNOWN_AGENT');
  });
});
