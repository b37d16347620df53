// The cluster directory (nodes' cards, which node each route is connected to) against a real node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { OpenSearchClusterDirectory } from '../../../src/store/opensearch/cluster-directory.js';
import { ensureIndices, indexNames, type IndexNames } from '../../../src/store/opensearch/indices.js';
import { indexPrefix, openSearchTier } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

describe('OpenSearch cluster directory', { skip: tier.skip }, () => {
  let client: ReturnType<typeof createOpenSearchClient>;
  let names: IndexNames;
  before(async () => {
    client = createOpenSearchClient({ url: await tier.url() });
    names = indexNames(indexPrefix('directory'));
    await ensureIndices(client, names);
  });
  after(() => client?.close());

  test('a card is written, read back by node name, refreshed and removed', async () => {
    const directory = new OpenSearchClusterDirectory(client, names);
    await directory.announce({ node: 'n1', url: 'https://n1:55000', ca_fingerprint: 'AA:BB', secret: 's1', seen_at: 1 });
    await directory.announce({ node: 'n1', url: 'https://n1:55000', ca_fingerprint: 'AA:BB', secret: 's1', seen_at: 2 });
    const cards = await directory.cards(['n1', 'n-unknown']);
    assert.deepEqual([...cards.keys()], ['n1']);
    assert.deepEqual(cards.get('n1'), { node: 'n1', url: 'https://n1:55000', ca_fingerprint: 'AA:BB', secret: 's1', seen_at: 2 });
    await directory.leave('n1');
    await directory.leave('n1'); // already gone: not an error
    assert.equal((await directory.cards(['n1'])).size, 0);
  });

  test('connections are read at once (no refresh), and a node removes only the records still its own', async () => {
    const first = new OpenSearchClusterDirectory(client, names);
    const second = new OpenSearchClusterDirectory(client, names);
    await first.connect(
      [
        { route: 'agent:1', transport: 'websocket' },
        { route: 'agent:2', transport: 'long-poll' },
      ],
      'n1',
      10,
    );
    let found = await first.connections(['agent:1', 'agent:2', 'agent:3']);
    assert.deepEqual(found.get('agent:1'), { route: 'agent:1', node: 'n1', transport: 'websocket', since: 10 });
    assert.equal(found.has('agent:3'), false);

    // agent:2 moved to n2 before n1 let it go: n1's removal must not remove n2's record.
    await second.connect([{ route: 'agent:2', transport: 'websocket' }], 'n2', 20);
    await first.disconnect(['agent:1', 'agent:2']);
    found = await first.connections(['agent:1', 'agent:2']);
    assert.equal(found.has('agent:1'), false);
    assert.deepEqual(found.get('agent:2'), { route: 'agent:2', node: 'n2', transport: 'websocket', since: 20 });
    // A route n1 never recorded is not touched.
    await first.disconnect(['agent:2']);
    assert.equal((await second.connections(['agent:2'])).get('agent:2')?.node, 'n2');
  });

  test("clear removes every record of one node (left behind by a kill -9), not the others'", async () => {
    const directory = new OpenSearchClusterDirectory(client, names);
    await directory.connect(
      [
        { route: 'agent:c1', transport: 'websocket' },
        { route: 'agent:c2', transport: 'websocket' },
      ],
      'n-dead',
      1,
    );
    await directory.connect([{ route: 'agent:c3', transport: 'websocket' }], 'n-alive', 1);
    await directory.clear('n-dead');
    const found = await directory.connections(['agent:c1', 'agent:c2', 'agent:c3']);
    assert.deepEqual([...found.keys()], ['agent:c3']);
  });
});
