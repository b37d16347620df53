// Two courier nodes on one cluster: an agent removed, or registered again with a new key, through
// one node loses the connections it holds on the other within about one poll interval, and is
// sent nothing more there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarnesses, type Harness } from '../support/courier-harness.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: removals reach every node', { skip: tier.skip }, () => {
  let a: Harness;
  let b: Harness;

  before(async () => {
    const url = await tier.url();
    const shared = { opensearch: url, opensearchIndexPrefix: indexPrefix('removal'), pollInterval: '200ms', longPollTimeout: '30s' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-ra' }, { ...shared, node: 'node-rb' })) as [Harness, Harness];
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  /** The socket's close code; fails if it stays open for 10 s (many poll intervals). */
  async function closeCode(socket: AgentSocket): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the socket on node b stayed open')), 10_000)));
    try {
      const [code] = (await Promise.race([once(socket.ws, 'close'), timeout])) as [number];
      return code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Authenticates `id` on node b with `key`. */
  async function tokenOnB(id: string, key: string): Promise<string> {
    const res = await b.http('POST', '/api/v1/authentication', { body: { uuid: id, key } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { token: string }).token;
  }

  test('an agent removed through node a loses its WebSocket on node b, and a long-poll held there', async () => {
    const key = await a.addAgent('moving-1');
    const token = await tokenOnB('moving-1', key);
    const socket = await new AgentSocket(b.url, token).open();
    const poll = b.http('GET', '/api/v1/commands', { token });
    await eventually(() => (b.courier.supervisor.stats().longPollSubscriptions >= 1 ? true : undefined), 'the poll to be held on b');
    const closed = closeCode(socket);

    assert.equal((await a.admin('DELETE', '/api/v1/agents/moving-1')).status, 200);
    assert.equal(await closed, 1008);
    assert.equal((await poll).status, 403);
    assert.equal(b.courier.supervisor.connectionOf('agent:moving-1'), 'offline');
    // Nothing can be sent to it any more, through either node.
    const refused = await b.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'moving-1' })] });
    assert.equal(refused.status, 400);
  });

  test('an agent registered again with a new key through node a loses the connections of its old registration on node b', async () => {
    const oldKey = await a.addAgent('moving-2');
    const token = await tokenOnB('moving-2', oldKey);
    const socket = await new AgentSocket(b.url, token).open();
    await eventually(() => (b.courier.supervisor.connectionOf('agent:moving-2') === 'websocket' ? true : undefined), 'the socket on b');
    const closed = closeCode(socket);

    const replaced = await a.admin('POST', '/api/v1/agents', { id: 'moving-2', replace: true });
    assert.equal(replaced.status, 201, JSON.stringify(replaced.body));
    assert.equal(await closed, 1008);
    // The new registration's key works on b.
    const fresh = await tokenOnB('moving-2', (replaced.body as { key: string }).key);
    const again = await new AgentSocket(b.url, fresh).open();
    await eventually(() => (b.courier.supervisor.connectionOf('agent:moving-2') === 'websocket' ? true : undefined), 'the new socket on b');
    await again.close();
  });
});
