// Agents registered by Wazuh itself: their documents in `wazuh-agents` hold Wazuh's PBKDF2 key
// hash, and they authenticate with their Wazuh key and receive their commands like any other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { command, startHarness, type Harness } from '../support/courier-harness.js';
import { cluster, indexPrefix, openSearchTier } from '../support/opensearch-tier.js';
import { WAZUH_KEY_VECTORS } from '../support/wazuh-key-vectors.js';

const tier = openSearchTier();

/** An agent document as Wazuh's registration writes it (AgentsIndex.create: `{"agent": Agent.to_dict()}`). */
function wazuhAgentDocument(id: string, keyHash: string, groups: string[] | null) {
  return {
    agent: {
      id,
      name: `host-${id.slice(0, 8)}`,
      key: keyHash,
      type: 'endpoint',
      version: '5.0.0',
      groups,
      last_login: null,
      status: 'never_connected',
      host: { architecture: 'x86_64', hostname: 'endpoint-1', ip: ['192.168.56.11'], os: { name: 'Ubuntu', type: 'linux', version: '24.04' } },
    },
  };
}

describe('courier on OpenSearch: agents registered by Wazuh', { skip: tier.skip }, () => {
  let url: string;
  let h: Harness;
  let names: IndexNames;
  const [vector, other] = WAZUH_KEY_VECTORS;
  const AGENT = '01912d07-b9b4-7528-bdad-15da902d651c';

  before(async () => {
    url = await tier.url();
    const prefix = indexPrefix('wazuh-agents');
    names = indexNames(prefix);
    h = await startHarness({ opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '200ms', longPollTimeout: '30s', node: 'node-w' });
    // Written straight into the index, as Wazuh's registration does (refresh, op_type create).
    const written = await cluster(url, 'PUT', `/${names.agents}/_doc/${AGENT}?op_type=create&refresh=true`, wazuhAgentDocument(AGENT, vector.stored, null));
    assert.equal(written.status, 201, JSON.stringify(written.body));
  });
  after(() => h?.stop());

  const login = (uuid: string, key: string) => h.http('POST', '/api/v1/authentication', { body: { uuid, key } });

  test('it authenticates with its Wazuh key and receives a command; again from the cache', async () => {
    const first = await login(AGENT, vector.key);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const token = (first.body as { token: string }).token;

    const poll = h.http('GET', '/api/v1/commands', { token });
    const [created] = await h.send([command({ type: 'agent', id: AGENT }, 'restart')]);
    const res = await poll;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      (res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [created!.document_id],
    );

    // A re-authentication (every 15 minutes in a fleet) is answered the same.
    const again = await login(AGENT, vector.key);
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });

  test('a wrong key, or an unknown id, gets the one answer for bad credentials', async () => {
    const wrong = await login(AGENT, other.key);
    const unknown = await login('01912d07-0000-7000-8000-000000000000', vector.key);
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong, unknown);
    assert.deepEqual(wrong.body, { message: 'Invalid agent id or key', code: 'COURIER_ERR_INVALID_KEY' });
  });

  test('registered again by Wazuh with another key: the old key and its tokens stop working', async () => {
    const id = '01912d07-1111-7000-8000-000000000001';
    await cluster(url, 'PUT', `/${names.agents}/_doc/${id}?refresh=true`, wazuhAgentDocument(id, vector.stored, ['default']));
    const before = await login(id, vector.key);
    assert.equal(before.status, 200);
    const oldToken = (before.body as { token: string }).token;
    await cluster(url, 'PUT', `/${names.agents}/_doc/${id}?refresh=true`, wazuhAgentDocument(id, other.stored, ['default']));
    assert.equal((await login(id, vector.key)).status, 401, 'the cached verification of the old key no longer holds');
    assert.equal((await h.http('POST', '/api/v1/commands/results', { token: oldToken, body: { results: [{ document_id: 'x', code: 0, message: 'x' }] } })).status, 403);
    assert.equal((await login(id, other.key)).status, 200);
  });

  test("an agents index an older courier made (strict mapping) takes Wazuh's documents once courier has started on it", async (t) => {
    const prefix = indexPrefix('old-agents');
    const old = indexNames(prefix);
    const strict = {
      dynamic: 'strict',
      properties: {
        agent: { properties: { id: { type: 'keyword' }, key: { type: 'keyword', index: false }, groups: { type: 'keyword' } } },
        courier: { properties: { created_at: { type: 'date' } } },
      },
    };
    assert.equal((await cluster(url, 'PUT', `/${old.agents}`, { mappings: strict })).status, 200);
    const refused = await cluster(url, 'PUT', `/${old.agents}/_doc/a-1?refresh=true`, wazuhAgentDocument('a-1', vector.stored, null));
    assert.equal(refused.status, 400, "control: the old mapping refuses Wazuh's fields");
    const node = await startHarness({ opensearch: url, opensearchIndexPrefix: prefix, node: 'node-old' });
    t.after(() => node.stop());
    const written = await cluster(url, 'PUT', `/${old.agents}/_doc/a-1?refresh=true`, wazuhAgentDocument('a-1', vector.stored, null));
    assert.equal(written.status, 201, JSON.stringify(written.body));
    assert.equal((await node.http('POST', '/api/v1/authentication', { body: { uuid: 'a-1', key: vector.key } })).status, 200);
  });
});
