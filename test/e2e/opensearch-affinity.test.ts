// Two courier nodes on one cluster: a node holds only the commands of the agents connected to it
// (plus what is past a deadline). Commands for an agent connected nowhere are held by no node; the
// node the agent then connects to reads them from the cluster and delivers them; a cancel or a
// result through a node that does not hold the command still acts on it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarnesses, type Harness } from '../support/courier-harness.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: each node holds the commands of the agents connected to it', { skip: tier.skip }, () => {
  let a: Harness;
  let b: Harness;

  before(async () => {
    const url = await tier.url();
    const shared = { opensearch: url, opensearchIndexPrefix: indexPrefix('affinity'), pollInterval: '200ms', rescanInterval: '1s', longPollTimeout: '30s' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-fa' }, { ...shared, node: 'node-fb' })) as [Harness, Harness];
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  const live = (h: Harness, ids: string[]) => ids.filter((id) => h.courier.supervisor.isLive(id)).length;

  async function tokenOn(h: Harness, id: string, key: string): Promise<string> {
    const res = await h.http('POST', '/api/v1/authentication', { body: { uuid: id, key } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { token: string }).token;
  }

  test('commands for an agent connected nowhere are held by no node, and delivered by the node it connects to', async () => {
    const key = await a.addAgent('away-1');
    const created = await a.send(Array.from({ length: 20 }, () => command({ type: 'agent', id: 'away-1' })));
    const ids = created.map((c) => c.document_id);
    // Node a made them and lets them go once written; node b reads them in its tail and ignores them.
    await eventually(() => (live(a, ids) === 0 ? true : undefined), 'node a to let go of commands for an agent it does not serve');
    await eventually(() => (b.courier.supervisor.stats().liveCommands === 0 ? true : undefined), 'node b to hold none of them');
    assert.equal(live(b, ids), 0);

    const socket = await new AgentSocket(b.url, await tokenOn(b, 'away-1', key)).open();
    try {
      assert.deepEqual([...(await socket.receiveAndAck(ids.length))].sort(), [...ids].sort());
      // Node b holds them now; node a still does not.
      assert.equal(live(b, ids), ids.length);
      assert.equal(live(a, ids), 0);
      // A result reported through node a (the agent's other connection) is recorded, not ignored.
      await eventually(async () => ((await a.admin('GET', `/api/v1/commands/${ids[0]}`)).body as { status: string }).status === 'delivered' || undefined, 'the ack written');
      const token = await tokenOn(a, 'away-1', key);
      const res = await a.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: ids[0], code: 0, message: 'ok' }] } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((res.body as { results: { outcome: string }[] }).results[0]!.outcome, 'recorded');
    } finally {
      await socket.close();
    }
  });

  test('a command held by no node can be cancelled through either', async () => {
    await a.addAgent('away-3');
    const [created] = await a.send([command({ type: 'agent', id: 'away-3' })]);
    const id = created!.document_id;
    await eventually(() => (live(a, [id]) === 0 ? true : undefined), 'node a to let go of it');
    const cancelled = await b.admin('POST', `/api/v1/commands/${id}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal((cancelled.body as { status: string }).status, 'cancelled');
  });

  test('a command for an agent connected nowhere still times out (found past its deadline by the re-scan)', async () => {
    await a.addAgent('away-2');
    const [created] = await a.send([command({ type: 'agent', id: 'away-2' }, 'restart', { timeout: 1 })]);
    const status = await eventually(async () => {
      const res = await b.admin('GET', `/api/v1/commands/${created!.document_id}`);
      const { status } = res.body as { status: string };
      return status === 'timed_out' ? status : undefined;
    }, 'the command to time out');
    assert.equal(status, 'timed_out');
  });
});
