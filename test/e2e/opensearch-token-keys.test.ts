// Two courier nodes on one cluster with the same --token-keys file: an agent's token from one node
// holds on the other (behind a per-request load balancer an agent reaches either), also across a
// key rollover.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rotateKeySet } from '../../src/cli/token-keys-command.js';
import { command, startHarnesses, tempDir, type Harness } from '../support/courier-harness.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: agent tokens hold on every node', { skip: tier.skip }, () => {
  let a: Harness;
  let b: Harness;
  let keys: string;

  before(async () => {
    const url = await tier.url();
    keys = join(tempDir(), 'token-keys.json');
    await rotateKeySet(keys);
    const shared = { opensearch: url, opensearchIndexPrefix: indexPrefix('token-keys'), pollInterval: '200ms', longPollTimeout: '1s', tokenKeys: keys };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-ta' }, { ...shared, node: 'node-tb' })) as [Harness, Harness];
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  const tokenFrom = async (h: Harness, id: string, key: string) => {
    const res = await h.http('POST', '/api/v1/authentication', { body: { uuid: id, key } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { token: string }).token;
  };

  test('a token from node a is accepted by node b: its long-poll is held and gets its command', async () => {
    const key = await a.addAgent('roaming-1');
    const token = await tokenFrom(a, 'roaming-1', key);
    const [created] = await a.send([command({ type: 'agent', id: 'roaming-1' })]);
    const res = await b.http('GET', '/api/v1/commands', { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      (res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [created!.document_id],
    );
  });

  test('a rollover: node a takes the new key (SIGHUP), node b has not yet; tokens of both keys hold on both', async () => {
    const key = await a.addAgent('roaming-2');
    const old = await tokenFrom(a, 'roaming-2', key);
    await rotateKeySet(keys);
    await a.courier.reloadTokenKeys();
    const fresh = await tokenFrom(a, 'roaming-2', key);
    for (const [node, token] of [
      [a, old],
      [a, fresh],
      [b, old],
      [b, fresh],
    ] as const) {
      const res = await node.http('GET', '/api/v1/commands', { token });
      assert.equal(res.status, 408, `${node === a ? 'a' : 'b'}: ${JSON.stringify(res.body)}`);
    }
  });
});
