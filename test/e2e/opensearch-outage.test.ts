// OpenSearch stopped and restarted under a running courier: courier keeps serving its connected
// agents, reports not-ready with the reason, loses nothing, and delivers the backlog once the
// cluster is back. This test stops a node, so it starts one of its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { startOpenSearchNode, type OpenSearchNode } from '../support/opensearch-node.js';
import { cluster, indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: the cluster goes away and comes back', { skip: tier.skip, timeout: 300_000 }, () => {
  let node: OpenSearchNode;
  let h: Harness;
  let names: IndexNames;
  let prefix: string;
  const agents: ReferenceAgent[] = [];
  const received = new Set<string>();

  before(async () => {
    await tier.url(); // fails under CI without Java/Maven
    node = await startOpenSearchNode();
    prefix = indexPrefix('outage');
    names = indexNames(prefix);
    h = await startHarness({ opensearch: node.url, opensearchIndexPrefix: prefix, pollInterval: '200ms', rescanInterval: '1s', longPollTimeout: '2s', node: 'node-o' });
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    await h?.stop();
    await node?.stop();
  });

  const statuses = async (ids: string[]) => {
    const res = await cluster(node.url, 'POST', `/${names.commands}/_mget`, { ids });
    return new Map<string, string>(res.body.docs.map((d: { _id: string; _source: { courier?: { status?: string } } }) => [d._id, d._source.courier?.status ?? '']));
  };
  const allSucceed = (ids: string[], what: string) =>
    eventually(
      async () => {
        const status = await statuses(ids);
        return ids.every((id) => status.get(id) === 'success') ? true : undefined;
      },
      what,
      60_000,
    );

  test('nothing is lost and the backlog is delivered after the cluster returns', async () => {
    const keys = new Map<string, string>();
    for (let i = 0; i < 6; i++) keys.set(`out-${i}`, await h.addAgent(`out-${i}`));
    keys.set('late', await h.addAgent('late'));
    for (let i = 0; i < 6; i++) {
      const agent = new ReferenceAgent({
        url: h.url,
        id: `out-${i}`,
        key: keys.get(`out-${i}`)!,
        transport: i % 2 === 0 ? 'long-poll' : 'websocket',
        onCommand: (c) => received.add(c.document_id),
      });
      agent.start();
      agents.push(agent);
    }

    // Before: commands flow.
    const before = (await h.send(Array.from({ length: 30 }, (_, i) => command({ type: 'agent', id: `out-${i % 6}` })))).map((c) => c.document_id);
    await allSucceed(before, 'the first commands to succeed');
    // Accepted while all is well, for an agent that connects only during the outage.
    const waiting = (await h.send(Array.from({ length: 10 }, () => command({ type: 'agent', id: 'late' })))).map((c) => c.document_id);

    const { port, dataDir } = node;
    await node.stop();

    // Not ready, with the reason; the agents' API still answers.
    const health = await eventually(async () => {
      const res = await h.http('GET', '/healthz');
      return res.status === 503 ? (res.body as { reason: string }) : undefined;
    }, 'healthz to report the outage');
    // Whichever noticed first: the poller's read, or a status write under way when the cluster went
    // (the agents go on polling and acknowledging meanwhile).
    assert.match(health.reason, /indexer poller|store writes failing: The store gave no answer/);
    // A producer is told the store is unavailable (nothing is acknowledged that is not durable).
    const refused = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'out-0' })] });
    assert.equal(refused.status, 503);
    assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
    // Connected agents are still served: an authenticated agent's long-poll is held and answered, not refused.
    const auth = await h.http('POST', '/api/v1/authentication', { body: { uuid: 'out-0', key: keys.get('out-0') } });
    assert.equal(auth.status, 200);
    const held = await h.http('GET', '/api/v1/commands', { token: (auth.body as { token: string }).token });
    assert.equal(held.status, 408);
    // The late agent connects now: its commands are claimed as soon as the claims can be written.
    const late = new ReferenceAgent({ url: h.url, id: 'late', key: keys.get('late')!, transport: 'long-poll', onCommand: (c) => received.add(c.document_id) });
    late.start();
    agents.push(late);

    node = await startOpenSearchNode({ port, dataDir });
    // The backlog: written into the index the moment it is back.
    const backlog = await indexCommands(
      node.url,
      names.commands,
      Array.from({ length: 20 }, (_, i) => wazuhCommand(`out-${i % 6}`)),
    );

    await allSucceed([...waiting, ...backlog], 'the waiting commands and the backlog to succeed');
    await allSucceed(before, 'the first commands to still be successful');
    for (const id of [...before, ...waiting, ...backlog]) assert.ok(received.has(id), `${id} reached its agent`);
    await eventually(async () => ((await h.http('GET', '/healthz')).status === 200 ? true : undefined), 'healthz to be ok again');
  });

  test('a frozen cluster: /healthz says it hangs (not, 30 s later, that a request timed out), and producers are answered 503 at once', async () => {
    node.freeze();
    try {
      const health = await eventually(
        async () => {
          const res = await h.http('GET', '/healthz');
          return res.status === 503 ? (res.body as { reason: string }) : undefined;
        },
        'healthz to see the hung cluster',
        60_000,
      );
      // Seen as a hang, from the request still unanswered: a report only after the request timeout would name the timeout.
      assert.match(health.reason, /has not answered a (read|write) for/);
      const refused = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'server', id: 'during-freeze' })] });
      assert.equal(refused.status, 503);
      assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
      assert.match((refused.body as { message: string }).message, /has not answered a (read|write) for/);
    } finally {
      node.thaw();
    }
    await eventually(async () => ((await h.http('GET', '/healthz')).status === 200 ? true : undefined), 'healthz to be ok again', 60_000);
  });

  test('a create the frozen cluster never answered is answered as of unknown outcome, with its ids; stored after all, it has its creation record; a retry makes it once', async (t) => {
    // A second node of courier on the same indices, that gives up on a request after 3 s.
    const u = await startHarness({ opensearch: node.url, opensearchIndexPrefix: prefix, opensearchRequestTimeout: '3s', pollInterval: '200ms', node: 'node-u' });
    try {
      const spec = command({ type: 'server', id: 'frozen-component' }); // no agent to look up: straight to the write
      node.freeze();
      let answer;
      try {
        answer = await u.admin('POST', '/api/v1/commands', { commands: [spec] });
      } finally {
        node.thaw();
      }
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      const body = answer.body as { code: string; message: string; request_id: string; document_ids: string[] };
      assert.equal(body.code, 'COURIER_ERR_STORE_OUTCOME_UNKNOWN');
      assert.match(body.message, /may have been stored/);
      assert.equal(body.document_ids.length, 1);
      assert.ok(body.request_id);
      const [id] = body.document_ids as [string];

      // The cluster carries out what it had received before it froze, or not: either way the trail
      // starts with the creation record, and a retry naming the id leaves exactly one command.
      // Once the cluster answers and runs no bulk request any more, what it had received is done.
      const settled = async () => {
        const tasks = await cluster(node.url, 'GET', '/_tasks?actions=indices:data/write/bulk*');
        const running = Object.values((tasks.body as { nodes: Record<string, { tasks: object }> }).nodes).reduce((n, x) => n + Object.keys(x.tasks).length, 0);
        return running === 0 ? true : undefined;
      };
      await eventually(settled, 'the cluster to answer again and finish what it had received', 60_000);
      // The failed create left nothing to retry: a probe write finds the cluster well, no create needed.
      await eventually(async () => ((await u.http('GET', '/healthz')).status === 200 ? true : undefined), "node u's /healthz to be ok again", 60_000);
      const landed = (await cluster(node.url, 'GET', `/${names.commands}/_doc/${id}`)).body.found === true;
      t.diagnostic(landed ? 'the frozen request was carried out after the thaw' : 'the frozen request was not carried out');
      // Retried as a producer does on a 503, until courier sees the cluster well again.
      const retry = await eventually(
        async () => {
          const res = await u.admin('POST', '/api/v1/commands', { commands: [{ ...spec, document_id: id }] });
          if (res.status === 503 && (res.body as { code: string }).code === 'COURIER_ERR_STORE_UNAVAILABLE') return undefined;
          return res;
        },
        'the retry to be taken',
        60_000,
      );
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      assert.deepEqual(
        (retry.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
        [id],
      );
      const history = (await u.admin('GET', `/api/v1/commands/${id}/history`)).body as { events: { cause: string }[] };
      assert.deepEqual(
        history.events.map((e) => e.cause),
        ['created'],
        `the trail of a command ${landed ? 'stored by the frozen request' : 'stored by the retry'}`,
      );
      await cluster(node.url, 'POST', `/${names.commands}/_refresh`);
      const copies = await cluster(node.url, 'POST', `/${names.commands}/_count`, { query: { term: { 'command.target.id': 'frozen-component' } } });
      assert.equal(copies.body.count, 1);
    } finally {
      node.thaw();
      await u.stop();
    }
  });
});
