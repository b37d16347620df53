// A store read that fails is not an absence: while the shard holding an agent's registration cannot
// be read (recovering, unassigned), a producer naming that agent is told to retry (503), not that
// the agent does not exist (400, which it would not retry).
//
// The unreadable shard is made at the wire: courier talks to the real node through a proxy that
// answers its `_mget` of the agents index with the per-document error OpenSearch gives for a shard
// with no active copy. Making the shard itself unassigned is not reliable on a one-node cluster: a
// closed-then-opened or cancelled primary was seen allocated again within milliseconds whatever the
// index's allocation settings, so the test read the agent or not depending on timing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { command, startHarness, type Harness } from '../support/courier-harness.js';
import { FaultyProxy } from '../support/faulty-proxy.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: reads that fail are not absences', { skip: tier.skip }, () => {
  let h: Harness;
  let names: IndexNames;
  let proxy: FaultyProxy;
  let unreadable = false;

  before(async () => {
    const url = await tier.url();
    proxy = new FaultyProxy(url);
    const prefix = indexPrefix('read-failures');
    names = indexNames(prefix);
    proxy.decide = ({ method, path }) =>
      unreadable && path.startsWith(`/${names.agents}/_mget`) && (method === 'POST' || method === 'GET') ? { rewrite: shardUnavailable } : 'pass';
    h = await startHarness({ opensearch: await proxy.start(), opensearchIndexPrefix: prefix, pollInterval: '200ms', node: 'node-r' });
  });
  after(async () => {
    await h?.stop();
    await proxy?.stop();
  });

  /** Each document of an `_mget` answer as OpenSearch gives it when its shard has no active copy. */
  function shardUnavailable(body: { docs: { _index: string; _id: string }[] }) {
    return {
      docs: body.docs.map(({ _index, _id }) => ({
        _index,
        _id,
        error: {
          root_cause: [{ type: 'no_shard_available_action_exception', reason: 'No shard available for [get]' }],
          type: 'no_shard_available_action_exception',
          reason: 'No shard available for [get]',
        },
      })),
    };
  }

  test('an agent whose registration cannot be read is answered 503 (retry), not 400 unknown agent; once readable, the same request works', async () => {
    await h.addAgent('r-1');
    unreadable = true;
    try {
      const refused = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'r-1' })] });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
      assert.match((refused.body as { message: string }).message, /r-1 could not be read/);
    } finally {
      unreadable = false;
    }
    const created = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'r-1' })] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((created.body as { commands: { agent: { id: string } }[] }).commands[0]!.agent.id, 'r-1');
    const unknown = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'r-never-registered' })] });
    assert.equal(unknown.status, 400);
    assert.equal((unknown.body as { code: string }).code, 'COURIER_ERR_UNKNOWN_AGENT');
  });
});
