// Courier on a real OpenSearch node: commands written into `wazuh-commands` by anyone reach
// their agents, with every status written back to the index and audited in `courier-audit`,
// and there is no cap on how many are picked up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { cluster, indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../support/opensearch-tier.js';

const tier = openSearchTier();

type Commands = { commands: { document_id: string; status: string; action: { name: string } }[] };

describe('courier on OpenSearch: delivery', { skip: tier.skip }, () => {
  let url: string;
  let h: Harness;
  let names: IndexNames;

  before(async () => {
    url = await tier.url();
    const prefix = indexPrefix('delivery');
    names = indexNames(prefix);
    h = await startHarness({ opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '200ms', longPollTimeout: '5s', node: 'node-d' });
  });
  after(() => h?.stop());

  const stored = async (id: string) => (await cluster(url, 'GET', `/${names.commands}/_doc/${id}`)).body._source;

  test("a document indexed in the Wazuh plugin's format reaches a long-polling agent; pending → sent → delivered → success, audited", async () => {
    const token = await h.agentToken('wz-agent-1');
    const waiting = h.http('GET', '/api/v1/commands', { token });
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'the poll to be held');

    // What the plugin's POST /_plugins/_command_manager/commands writes: a plain index call, no courier fields.
    const written = await cluster(url, 'POST', `/${names.commands}/_doc`, wazuhCommand('wz-agent-1', { action: 'fetch-config', user: 'admin' }));
    assert.equal(written.status, 201);
    const id: string = written.body._id;
    assert.equal((await stored(id)).command.status, 'pending');

    const res = await waiting;
    assert.equal(res.status, 200);
    const body = res.body as Commands;
    assert.deepEqual(
      body.commands.map((c) => [c.document_id, c.action.name]),
      [[id, 'fetch-config']],
    );

    // The claim and the delivery are written back to the document.
    const delivered = await eventually(async () => {
      const source = await stored(id);
      return source.courier?.status === 'delivered' ? source : undefined;
    }, 'delivered in the index');
    // Wazuh's readers see their own word for it; courier keeps its own status beside it.
    assert.equal(delivered.command.status, 'SENT');
    assert.equal(delivered.courier.route, 'agent:wz-agent-1');
    assert.equal(delivered.courier.attempts, 1);
    assert.equal(delivered.courier.claim, null);
    assert.equal(typeof delivered.courier.delivered_at, 'number');
    assert.ok(delivered.courier.execution_deadline > delivered.courier.delivered_at);

    const report = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: id, code: 0, message: 'config fetched' }] } });
    assert.equal(report.status, 200);
    const done = await eventually(async () => {
      const source = await stored(id);
      return source.courier?.status === 'success' ? source : undefined;
    }, 'success in the index');
    assert.equal(done.command.status, 'SUCCESS');
    assert.deepEqual(done.command.result, { code: 0, message: 'config fetched' });

    // The audit trail, read from courier-audit as an operator would.
    await cluster(url, 'POST', `/${names.audit}/_refresh`);
    const audit = await cluster(url, 'POST', `/${names.audit}/_search`, { query: { term: { document_id: id } }, sort: [{ order: 'asc' }], size: 100 });
    const trail = audit.body.hits.hits.map((hit: { _source: { from: string | null; to: string; cause: string; node: string; actor: string } }) => hit._source);
    assert.deepEqual(
      trail.map((e: { from: string | null; to: string; cause: string }) => [e.from, e.to, e.cause]),
      [
        [null, 'pending', 'indexed'],
        ['pending', 'sent', 'claimed'],
        ['sent', 'delivered', 'delivered'],
        ['delivered', 'success', 'result'],
      ],
    );
    assert.equal(trail[0].actor, 'user:admin');
    assert.ok(trail.slice(1).every((e: { node: string; actor: string }) => e.node === 'node-d' && e.actor === 'agent:wz-agent-1'));
    // The same trail through courier's own API.
    const history = await h.admin('GET', `/api/v1/commands/${id}/history`);
    assert.deepEqual(
      (history.body as { events: { to: string }[] }).events.map((e) => e.to),
      ['pending', 'sent', 'delivered', 'success'],
    );
  });

  test('a command created through courier is a Wazuh-shaped document in the index', async () => {
    await h.addAgent('wz-agent-2', ['linux']);
    const [created] = await h.send([command({ type: 'agent', id: 'wz-agent-2' }, 'restart')]);
    const source = await stored(created!.document_id);
    // The plugin's word, which its expiry job matches; courier's own status beside it.
    assert.equal(source.command.status, 'PENDING');
    assert.equal(source.courier.status, 'pending');
    assert.deepEqual(source.command.target, { type: 'agent', id: 'wz-agent-2' });
    assert.deepEqual(source.agent, { id: 'wz-agent-2', groups: ['linux'] });
    assert.equal(Date.parse(source.delivery_timestamp) - Date.parse(source['@timestamp']), 100_000);
    assert.equal(source.courier.route, 'agent:wz-agent-2');
  });

  test('commands nobody receives time out in the index at their delivery deadline, also those written already overdue', async () => {
    const [soon, overdue] = await indexCommands(url, names.commands, [
      wazuhCommand('nobody-1', { timeoutS: 1 }),
      wazuhCommand('nobody-2', { at: Date.now() - 60_000, timeoutS: 10 }),
    ]);
    for (const id of [soon!, overdue!]) {
      const source = await eventually(async () => {
        const s = await stored(id);
        return s.courier?.status === 'timed_out' ? s : undefined;
      }, `${id} to time out`);
      // Wazuh has no timed_out: its readers see FAILURE.
      assert.equal(source.command.status, 'FAILURE');
      assert.equal(source.courier.attempts, 0);
      const history = await h.admin('GET', `/api/v1/commands/${id}/history`);
      assert.deepEqual(
        (history.body as { events: { to: string; cause: string }[] }).events.map((e) => [e.to, e.cause]),
        [
          ['pending', 'indexed'],
          ['timed_out', 'deadline'],
        ],
      );
    }
  });

  test('documents dated in epoch millis (numbers or numeric strings) are delivered, and time out at their deadline, like ISO-dated ones', async () => {
    const token = await h.agentToken('ms-agent-1');
    const now = Date.now();
    // OpenSearch takes both forms into a `date` field; another tool may write either.
    const [forAgent, forNobody, isoForNobody] = await indexCommands(url, names.commands, [
      { ...wazuhCommand('ms-agent-1', { action: 'epoch-millis' }), '@timestamp': String(now), delivery_timestamp: String(now + 100_000) },
      { ...wazuhCommand('ms-nobody-1'), '@timestamp': now, delivery_timestamp: String(now + 1000) },
      wazuhCommand('ms-nobody-2', { timeoutS: 2 }),
    ]);
    const res = await h.http('GET', '/api/v1/commands', { token });
    assert.equal(res.status, 200);
    const [delivered] = (res.body as Commands & { commands: { '@timestamp': string; delivery_timestamp: string }[] }).commands;
    assert.deepEqual([delivered!.document_id, delivered!.action.name], [forAgent, 'epoch-millis']);
    assert.equal(delivered!['@timestamp'], new Date(now).toISOString());
    assert.equal(delivered!.delivery_timestamp, new Date(now + 100_000).toISOString());
    await eventually(async () => ((await stored(forAgent!)).courier?.status === 'delivered' ? true : undefined), 'delivered in the index');

    for (const id of [forNobody!, isoForNobody!]) {
      await eventually(async () => ((await stored(id)).courier?.status === 'timed_out' ? true : undefined), `${id} to time out`);
      const history = await h.admin('GET', `/api/v1/commands/${id}/history`);
      assert.deepEqual(
        (history.body as { events: { to: string; cause: string }[] }).events.map((e) => [e.to, e.cause]),
        [
          ['pending', 'indexed'],
          ['timed_out', 'deadline'],
        ],
      );
    }
  });

  test('2,000 pending commands for 2,000 agents are all picked up and delivered (no cap)', { timeout: 240_000 }, async () => {
    const count = 2000;
    const agents = Array.from({ length: count }, (_, i) => `bulk-${i}`);
    const keys = new Map<string, string>();
    await inBatches(agents, 50, async (id) => void keys.set(id, await h.addAgent(id)));

    const ids = await indexCommands(
      url,
      names.commands,
      agents.map((id) => wazuhCommand(id)),
    );
    const idOf = new Map(agents.map((agent, i) => [agent, ids[i]!]));

    // Each agent polls once and gets exactly its own command (Wazuh took 10 per 10 s). The node
    // holds a command once its agent connects: it reads the agent's commands from the cluster then.
    await inBatches(agents, 100, async (agent) => {
      const auth = await h.http('POST', '/api/v1/authentication', { body: { uuid: agent, key: keys.get(agent) } });
      const token = (auth.body as { token: string }).token;
      const res = await h.http('GET', '/api/v1/commands', { token });
      assert.equal(res.status, 200, `${agent}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(
        (res.body as Commands).commands.map((c) => c.document_id),
        [idOf.get(agent)],
      );
      const report = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: idOf.get(agent), code: 0, message: 'ok' }] } });
      assert.equal(report.status, 200);
    });

    const successes = await eventually(
      async () => {
        await cluster(url, 'POST', `/${names.commands}/_refresh`);
        const res = await cluster(url, 'POST', `/${names.commands}/_count`, { query: { terms: { _id: ids } } });
        const ok = await cluster(url, 'POST', `/${names.commands}/_count`, {
          query: { bool: { filter: [{ terms: { _id: ids } }, { term: { 'courier.status': 'success' } }] } },
        });
        return res.body.count === count && ok.body.count === count ? ok.body.count : undefined;
      },
      'every command to succeed in the index',
      60_000,
    );
    assert.equal(successes, count);
  });

  test('a command the Wazuh plugin wrote in its own words (PENDING) before this node started is recovered, filtered by status, and delivered', async () => {
    const prefix = indexPrefix('plugin-words');
    const plugin = indexNames(prefix);
    const options = { opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '200ms', longPollTimeout: '2s' };
    // A first node makes the indices; the command is written while no node runs.
    await (await startHarness({ ...options, node: 'node-pw1' })).stop();
    const doc = wazuhCommand('pw-agent');
    const [id] = await indexCommands(url, plugin.commands, [{ ...doc, command: { ...doc.command, status: 'PENDING' } }]);
    // A node that never ran on these indices: its tail starts after the command, so only the recovery finds it.
    const fresh = await startHarness({ ...options, node: 'node-pw2' });
    try {
      const listed = await fresh.admin('GET', '/api/v1/commands?status=pending&limit=10');
      assert.deepEqual(
        (listed.body as { items: { document_id: string }[] }).items.map((c) => c.document_id),
        [id],
      );
      const token = await fresh.agentToken('pw-agent');
      const res = await fresh.http('GET', '/api/v1/commands', { token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        (res.body as Commands).commands.map((c) => c.document_id),
        [id],
      );
    } finally {
      await fresh.stop();
    }
  });
});

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}
