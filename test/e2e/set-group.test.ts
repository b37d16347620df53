// Group membership follows set-group, end to end with real agents: a set-group command that its
// agent reports as a success (sent as a command, or by the Wazuh shortcut PUT /agents/group)
// makes the command's groups the agent's in the registry, audited naming the command, and a group
// command then reaches the agent through its new group; one that fails leaves the groups as they
// were. On OpenSearch, with two nodes, the change made by the node the agent reports to is seen
// by the other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import type { CommandView } from '../../src/domain/command.js';
import { command, eventually, startHarness, startHarnesses, type Harness } from '../support/courier-harness.js';
import { indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

interface AuditItem {
  kind: string;
  agent_id?: string;
  groups?: string[];
  previous_groups?: string[];
  document_id: string | null;
  cause: string;
}

const setGroup = (agent: string, groups: string[]) => ({
  ...command({ type: 'agent', id: agent }, 'set-group', { timeout: 600 }),
  action: { name: 'set-group', args: { groups }, version: '5.0.0' },
});

/** An agent connected to `h` (its transport, the result code it reports for every command); the commands it received. */
async function connectAgent(h: Harness, id: string, groups: string[], transport: 'websocket' | 'long-poll', resultCode: number) {
  const key = await h.addAgent(id, groups);
  const received: CommandView[] = [];
  const agent = new ReferenceAgent({ url: h.url, id, key, transport, resultCode, onCommand: (c) => received.push(c) });
  agent.start();
  await eventually(() => (h.courier.supervisor.connectionOf(`agent:${id}`) === transport ? true : undefined), `${id} connected`);
  return { agent, received };
}

/** The command's final status, once it has one. */
const finalStatus = (h: Harness, documentId: string) =>
  eventually(async () => {
    const { status } = (await h.admin('GET', `/api/v1/commands/${documentId}`)).body as { status: string };
    return ['success', 'failure', 'timed_out', 'cancelled'].includes(status) ? status : undefined;
  }, `command ${documentId} to end`);

const groupsOf = async (h: Harness, id: string) => ((await h.admin('GET', `/api/v1/agents/${id}`)).body as { groups: string[] }).groups;

async function membershipsOf(h: Harness, agent: string): Promise<AuditItem[]> {
  const res = await h.admin('GET', '/api/v1/audit?kind=membership&limit=1000');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { items: AuditItem[] }).items.filter((e) => e.agent_id === agent);
}

describe('set-group results move agents between groups (embedded store)', () => {
  let h: Harness;
  const agents: ReferenceAgent[] = [];

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await h.stop();
  });

  test("a successful set-group makes its groups the agent's; a group command then reaches it there", async () => {
    const { agent, received } = await connectAgent(h, 'sg-ws', ['linux'], 'websocket', 0);
    agents.push(agent);
    const [sent] = await h.send([setGroup('sg-ws', ['web', 'db', 'web'])]);
    assert.equal(await finalStatus(h, sent!.document_id), 'success');
    // Written with the success: no wait beyond it.
    assert.deepEqual(await groupsOf(h, 'sg-ws'), ['web', 'db']);
    assert.deepEqual(
      (await membershipsOf(h, 'sg-ws')).map((e) => [e.document_id, e.cause, e.previous_groups, e.groups]),
      [[sent!.document_id, 'set-group', ['linux'], ['web', 'db']]],
    );
    const [toWeb] = await h.send([command({ type: 'group', id: 'web' }, 'restart', { timeout: 600 })]);
    assert.equal(toWeb!.agent.id, 'sg-ws');
    assert.equal(await finalStatus(h, toWeb!.document_id), 'success');
    assert.ok(received.some((c) => c.document_id === toWeb!.document_id));
    // Nobody is left in linux.
    const toLinux = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'group', id: 'linux' })] });
    assert.equal((toLinux.body as { code: string }).code, 'COURIER_ERR_EMPTY_GROUP');
  });

  test('the Wazuh shortcut PUT /agents/group moves the agent once its agent reports success', async () => {
    const { agent } = await connectAgent(h, 'sg-lp', ['linux'], 'long-poll', 0);
    agents.push(agent);
    const adminKey = await h.createKey('admin', [], 'sg-admin');
    const res = await h.mgmt('PUT', '/api/v1/agents/group?agents_list=sg-lp&group_id=ops', { key: adminKey });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [{ document_id }] = (res.body as { data: { commands: { document_id: string }[] } }).data.commands as [{ document_id: string }];
    assert.equal(await finalStatus(h, document_id), 'success');
    assert.deepEqual(await groupsOf(h, 'sg-lp'), ['ops']);
  });

  test('a set-group that fails leaves the groups as they were, and writes no membership record', async () => {
    const { agent } = await connectAgent(h, 'sg-fail', ['linux'], 'websocket', 3);
    agents.push(agent);
    const [sent] = await h.send([setGroup('sg-fail', ['web'])]);
    assert.equal(await finalStatus(h, sent!.document_id), 'failure');
    assert.deepEqual(await groupsOf(h, 'sg-fail'), ['linux']);
    assert.deepEqual(await membershipsOf(h, 'sg-fail'), []);
  });
});

const tier = openSearchTier();

describe('set-group results move agents between groups (OpenSearch, two nodes)', { skip: tier.skip }, () => {
  let a: Harness;
  let b: Harness;
  let agent: ReferenceAgent | undefined;

  before(async () => {
    const url = await tier.url();
    const shared = { opensearch: url, opensearchIndexPrefix: indexPrefix('set-group'), pollInterval: '200ms', longPollTimeout: '30s' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-ga' }, { ...shared, node: 'node-gb' })) as [Harness, Harness];
  });
  after(async () => {
    await agent?.stop();
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  test('a success reported to node a changes the registry node b reads; a failure changes nothing', async () => {
    const connected = await connectAgent(a, 'sg-os', ['linux'], 'websocket', 0);
    agent = connected.agent;
    // Sent through node b: its agent is connected to node a, which takes the result.
    const [sent] = await b.send([setGroup('sg-os', ['web'])]);
    assert.equal(await finalStatus(b, sent!.document_id), 'success');
    // Written once the success went through (a `_bulk` is no transaction), within the same commit.
    await eventually(async () => ((await groupsOf(b, 'sg-os')).join() === 'web' ? true : undefined), 'the new groups on node b');
    const records = await eventually(async () => {
      const found = await membershipsOf(b, 'sg-os');
      return found.length > 0 ? found : undefined;
    }, 'the membership record');
    assert.deepEqual(
      records.map((e) => [e.document_id, e.previous_groups, e.groups]),
      [[sent!.document_id, ['linux'], ['web']]],
    );
    // A group command made on node b reaches the agent through its new group.
    const [toWeb] = await b.send([command({ type: 'group', id: 'web' }, 'restart', { timeout: 600 })]);
    assert.equal(toWeb!.agent.id, 'sg-os');
    assert.equal(await finalStatus(b, toWeb!.document_id), 'success');

    await agent.stop();
    const failing = await connectAgent(a, 'sg-os-fail', ['linux'], 'long-poll', 5);
    agent = failing.agent;
    const [failed] = await b.send([setGroup('sg-os-fail', ['web'])]);
    assert.equal(await finalStatus(b, failed!.document_id), 'failure');
    assert.deepEqual(await groupsOf(b, 'sg-os-fail'), ['linux']);
    assert.deepEqual(await membershipsOf(b, 'sg-os-fail'), []);
  });
});
