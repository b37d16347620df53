// Several courier nodes on one OpenSearch cluster: each command is claimed by exactly one node
// and delivered once; an agent's pending commands follow it to another node; the claims of a
// node killed between claim and delivery expire and another node delivers them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import WebSocket from 'ws';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import type { CommandView } from '../../src/domain/command.js';
import { requestJson } from '../../src/http-client.js';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { command, eventually, startHarnesses, tempDir, type Harness } from '../support/courier-harness.js';
import { spawnOpenSearchNode } from '../support/courier-process.js';
import { cluster, indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../support/opensearch-tier.js';

const tier = openSearchTier();

interface AuditHit {
  document_id: string;
  from: string | null;
  to: string;
  cause: string;
  node: string;
}

describe('courier on OpenSearch: several nodes', { skip: tier.skip }, () => {
  let url: string;
  let prefix: string;
  let names: IndexNames;
  let a: Harness;
  let b: Harness;
  const agents: ReferenceAgent[] = [];

  before(async () => {
    url = await tier.url();
    prefix = indexPrefix('multi');
    names = indexNames(prefix);
    const shared = { opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '200ms', rescanInterval: '500ms', claimLease: '2s', longPollTimeout: '5s' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-a' }, { ...shared, node: 'node-b' })) as [Harness, Harness];
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  /** Every audit record of these commands, from courier-audit. */
  async function auditOf(ids: string[]): Promise<AuditHit[]> {
    await cluster(url, 'POST', `/${names.audit}/_refresh`);
    const hits: AuditHit[] = [];
    let after: unknown[] | undefined;
    for (;;) {
      const res = await cluster(url, 'POST', `/${names.audit}/_search`, {
        query: { terms: { document_id: ids } },
        sort: [{ document_id: 'asc' }, { order: 'asc' }],
        size: 1000,
        ...(after ? { search_after: after } : {}),
      });
      const page = res.body.hits.hits as { _source: AuditHit; sort: unknown[] }[];
      hits.push(...page.map((h) => h._source));
      if (page.length < 1000) return hits;
      after = page.at(-1)!.sort;
    }
  }

  async function statusesOf(ids: string[]): Promise<Map<string, string>> {
    const res = await cluster(url, 'POST', `/${names.commands}/_mget`, { ids });
    return new Map(res.body.docs.map((d: { _id: string; _source: { courier?: { status?: string } } }) => [d._id, d._source.courier?.status ?? '']));
  }

  test('a few hundred commands through two nodes, agents on each and on both: each claimed once, delivered once', { timeout: 180_000 }, async () => {
    const received = new Map<string, string[]>(); // document_id -> the nodes whose agent connection got it
    const ids: string[] = [];
    const agentIds = Array.from({ length: 20 }, (_, i) => `mn-${i}`);
    for (const [i, id] of agentIds.entries()) {
      const key = await (i % 2 === 0 ? a : b).addAgent(id);
      // 0-7 on node a, 8-15 on node b, 16-19 on both at once (a long-poll on each node).
      const homes = i < 8 ? [a] : i < 16 ? [b] : [a, b];
      for (const home of homes) {
        const agent = new ReferenceAgent({
          url: home.url,
          id,
          key,
          transport: i % 3 === 0 && homes.length === 1 ? 'websocket' : 'long-poll',
          onCommand: (c: CommandView) => received.set(c.document_id, [...(received.get(c.document_id) ?? []), home.config.node]),
        });
        agent.start();
        agents.push(agent);
      }
    }
    // Half written straight into the index (the Wazuh way), half through either node's socket.
    for (let round = 0; round < 6; round++) {
      const targets = Array.from({ length: 50 }, (_, k) => agentIds[(round * 50 + k) % agentIds.length]!);
      if (round % 2 === 0) {
        ids.push(
          ...(await indexCommands(
            url,
            names.commands,
            targets.map((id) => wazuhCommand(id)),
          )),
        );
      } else {
        const via = round % 4 === 1 ? a : b;
        ids.push(...(await via.send(targets.map((id) => command({ type: 'agent', id })))).map((c) => c.document_id));
      }
    }
    assert.equal(ids.length, 300);

    await eventually(
      async () => {
        const statuses = await statusesOf(ids);
        return ids.every((id) => statuses.get(id) === 'success') ? true : undefined;
      },
      'all 300 commands to succeed',
      120_000,
    );

    // Delivered once: exactly one connection, on one node, received each command.
    const twice = ids.filter((id) => (received.get(id)?.length ?? 0) !== 1);
    assert.deepEqual(twice, [], `commands not received exactly once: ${twice.map((id) => `${id}:${received.get(id)}`).join(' ')}`);
    // Claimed once: one pending → sent transition per command, by one node; both nodes took part.
    const claims = (await auditOf(ids)).filter((e) => e.to === 'sent');
    assert.equal(claims.length, 300);
    assert.equal(new Set(claims.map((e) => e.document_id)).size, 300);
    const byNode = new Map<string, number>();
    for (const claim of claims) byNode.set(claim.node, (byNode.get(claim.node) ?? 0) + 1);
    assert.ok((byNode.get('node-a') ?? 0) > 0 && (byNode.get('node-b') ?? 0) > 0, JSON.stringify([...byNode]));
    // The claiming node is the one whose connection received it.
    for (const claim of claims) assert.equal(received.get(claim.document_id)![0], claim.node);
  });

  test('an agent that moves to the other node finds its pending commands there', async () => {
    const key = await a.addAgent('mover');
    const onA = new ReferenceAgent({ url: a.url, id: 'mover', key, transport: 'long-poll' });
    const first = await a.send([command({ type: 'agent', id: 'mover' })]);
    onA.start();
    await eventually(async () => ((await statusesOf([first[0]!.document_id])).get(first[0]!.document_id) === 'success' ? true : undefined), 'its first command on node a');
    await onA.stop();
    // Node a has seen the poll go away (otherwise it could still claim for the dead request).
    await eventually(() => (a.courier.supervisor.connectionOf('agent:mover') === 'offline' ? true : undefined), 'node a to see the agent leave');

    // Offline now; three more commands are created on node a.
    const later = (await a.send([0, 1, 2].map(() => command({ type: 'agent', id: 'mover' })))).map((c) => c.document_id);
    const got: string[] = [];
    const onB = new ReferenceAgent({ url: b.url, id: 'mover', key, transport: 'websocket', onCommand: (c) => got.push(c.document_id) });
    agents.push(onB);
    onB.start();
    await eventually(() => (later.every((id) => got.includes(id)) ? true : undefined), 'the three commands on node b');
    assert.deepEqual(got, later, 'in creation order');
    const claims = (await auditOf(later)).filter((e) => e.to === 'sent');
    assert.deepEqual(
      claims.map((e) => e.node),
      ['node-b', 'node-b', 'node-b'],
    );
  });

  test("an acking agent's next poll reaches the other node: that node confirms what it names, without waiting for the claim lease", async () => {
    const key = await a.addAgent('acker');
    const token = (await a.http('POST', '/api/v1/authentication', { body: { uuid: 'acker', key } })).body as { token: string };
    const [created] = await a.send([command({ type: 'agent', id: 'acker' })]);
    const id = created!.document_id;
    const first = await a.http('GET', '/api/v1/commands?ack=', { token: token.token });
    assert.deepEqual(
      (first.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [id],
    );
    // At once, as an agent does: node b may not have seen the claim yet (it reads the command then).
    // (These nodes sign tokens each with its own key: the agent authenticates on b.)
    const onB = (await b.http('POST', '/api/v1/authentication', { body: { uuid: 'acker', key } })).body as { token: string };
    const next = b.http('GET', `/api/v1/commands?ack=${id}`, { token: onB.token });
    await eventually(async () => ((await statusesOf([id])).get(id) === 'delivered' ? true : undefined), 'delivered once node b took the acknowledgement');
    // The status and its audit record go to two indices in one bulk: one shard may show its write before the other.
    await eventually(async () => ((await auditOf([id])).length >= 3 ? true : undefined), 'the delivery in the audit trail');
    const trail = (await auditOf([id])).map((e) => `${e.cause}@${e.node}`);
    assert.deepEqual(trail, ['created@node-a', 'claimed@node-a', 'delivered@node-b'], 'no lease expiry, no second delivery');
    await eventually(() => (a.courier.supervisor.stats().longPollAnswersAwaitingAck === 0 ? true : undefined), "node a's answer to be settled by what node b wrote");
    assert.equal((await next).status, 408);
  });

  test('a node killed after claiming, before delivery: its claims lapse and another node delivers', { timeout: 120_000 }, async () => {
    const dataDir = tempDir();
    const killed = await spawnOpenSearchNode({ url, prefix, node: 'node-k', dataDir }, ['--poll-interval', '200ms', '--rescan-interval', '500ms', '--claim-lease', '2s']);
    try {
      const key = await b.addAgent('orphan');
      const auth = await requestJson({ baseUrl: killed.url, method: 'POST', path: '/api/v1/authentication', body: { uuid: 'orphan', key } });
      const token = (auth.body as { token: string }).token;
      // An agent on node k that receives commands and never acknowledges them: they stay `sent`, claimed by k.
      const ws = new WebSocket(new URL('/api/v1/commands/ws', killed.url.replace('http', 'ws')), { headers: { authorization: `Bearer ${token}` } });
      const pushed: string[] = [];
      ws.on('message', (data) => {
        const frame = JSON.parse((data as Buffer).toString()) as { type: string; commands?: { document_id: string }[] };
        if (frame.type === 'commands') pushed.push(...frame.commands!.map((c) => c.document_id));
      });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

      const ids = await indexCommands(
        url,
        names.commands,
        [0, 1, 2, 3].map(() => wazuhCommand('orphan')),
      );
      await eventually(() => (ids.every((id) => pushed.includes(id)) ? true : undefined), 'node k to push them');
      const claimed = await cluster(url, 'GET', `/${names.commands}/_doc/${ids[0]}`);
      assert.equal(claimed.body._source.courier.status, 'sent');
      assert.equal(claimed.body._source.command.status, 'SENT');
      assert.equal(claimed.body._source.courier.claim.node, 'node-k');

      killed.child.kill('SIGKILL');
      await killed.exited;
      ws.terminate();

      const got: string[] = [];
      const onB = new ReferenceAgent({ url: b.url, id: 'orphan', key, transport: 'long-poll', onCommand: (c) => got.push(c.document_id) });
      agents.push(onB);
      onB.start();
      await eventually(
        async () => {
          const statuses = await statusesOf(ids);
          return ids.every((id) => statuses.get(id) === 'success') ? true : undefined;
        },
        'the orphaned commands to be delivered by another node',
        60_000,
      );
      assert.deepEqual([...got].sort(), [...ids].sort());
      const trail = await auditOf(ids);
      for (const id of ids) {
        const steps = trail.filter((e) => e.document_id === id).map((e) => `${e.from}>${e.to}:${e.cause}@${e.node}`);
        assert.equal(steps[1], 'pending>sent:claimed@node-k', steps.join(' '));
        assert.match(steps[2]!, /^sent>pending:lease_expired@node-[ab]$/, steps.join(' '));
        assert.equal(steps[3], 'pending>sent:claimed@node-b', steps.join(' '));
      }
    } finally {
      killed.child.kill('SIGKILL');
      await killed.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
