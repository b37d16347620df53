import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * `PUT /api/v1/agents/{id}/groups` on the management API and on the admin socket: the agent's
 * groups become the list given (repeats once), answered as the agent, audited (kind `membership`,
 * the actor, the groups before and after). Bad input, an unknown agent, a role that may not edit
 * agents and a key whose scope the change would leave are refused with a clear error, audited
 * (the keyed refusals), and change nothing. A scoped key's set-group commands are held to the
 * same rule.
 */

interface Agent {
  id: string;
  groups: string[];
}
interface AuditItem {
  kind: string;
  agent_id?: string;
  groups?: string[];
  previous_groups?: string[];
  document_id: string | null;
  cause: string;
  actor: string;
}

/** The fleet: agent id -> groups. */
const AGENTS: Record<string, string[]> = {
  'grp-1': ['linux'],
  'grp-2': ['linux', 'windows'],
  'grp-3': ['windows'],
};

describe("management API: setting an agent's groups", () => {
  let h: Harness;
  const keys: Record<string, string> = {};

  before(async () => {
    h = await startHarness();
    for (const [id, groups] of Object.entries(AGENTS)) await h.addAgent(id, groups);
    keys.admin = await h.createKey('admin', [], 'groups-admin');
    keys.operator = await h.createKey('operator', [], 'groups-operator');
    keys.linux = await h.createKey('admin', ['group:linux'], 'linux-admin');
    keys.prefix = await h.createKey('admin', ['agent:grp-*'], 'prefix-admin');
    keys.restart = await h.createKey('admin', ['action:restart'], 'restart-admin');
  });
  after(() => h.stop());

  const put = (id: string, body: unknown, key = keys.admin) => h.mgmt('PUT', `/api/v1/agents/${id}/groups`, { key, body });
  const groupsOf = async (id: string) => ((await h.admin('GET', `/api/v1/agents/${id}`)).body as Agent).groups;
  const memberships = async () => {
    const res = await h.mgmt('GET', '/api/v1/audit?kind=membership&limit=1000', { key: keys.admin });
    assert.equal(res.status, 200);
    return (res.body as { items: AuditItem[] }).items;
  };
  /** Every agent's groups and every membership record: what a refusal must leave as it was. */
  const snapshot = async () => ({
    groups: Object.fromEntries(await Promise.all(Object.keys(AGENTS).map(async (id) => [id, await groupsOf(id)] as const))),
    memberships: (await memberships()).length,
  });

  test('sets the groups (repeats once), answers the agent, and audits the change with its actor', async () => {
    const before = await memberships();
    const res = await put('grp-1', { groups: ['web', 'linux', 'web'] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as Agent & { name: string | null; created_at: string };
    assert.deepEqual({ id: body.id, groups: body.groups, name: body.name }, { id: 'grp-1', groups: ['web', 'linux'], name: null });
    assert.ok(!Number.isNaN(Date.parse(body.created_at)));
    assert.deepEqual(await groupsOf('grp-1'), ['web', 'linux']);
    // The agent is now a member of the group: a group command reaches it.
    const listed = await h.mgmt('GET', '/api/v1/agents?limit=1000', { key: keys.admin });
    assert.deepEqual((listed.body as { items: Agent[] }).items.find((a) => a.id === 'grp-1')!.groups, ['web', 'linux']);
    const added = (await memberships()).slice(before.length);
    assert.deepEqual(
      added.map(({ agent_id, groups, previous_groups, document_id, cause, actor }) => ({ agent_id, groups, previous_groups, document_id, cause, actor })),
      [{ agent_id: 'grp-1', groups: ['web', 'linux'], previous_groups: ['linux'], document_id: null, cause: 'edited', actor: 'key:groups-admin' }],
    );
    // Back as it was, for the tests below.
    assert.equal((await put('grp-1', { groups: ['linux'] })).status, 200);
  });

  test('an empty list takes the agent out of every group', async () => {
    assert.equal((await put('grp-3', { groups: [] })).status, 200);
    assert.deepEqual(await groupsOf('grp-3'), []);
    assert.equal((await put('grp-3', { groups: ['windows'] })).status, 200);
  });

  test('on the admin socket too, audited as the socket', async () => {
    const before = (await memberships()).length;
    const res = await h.admin('PUT', '/api/v1/agents/grp-3/groups', { groups: ['windows', 'db'] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as Agent).groups, ['windows', 'db']);
    const added = (await memberships()).slice(before);
    assert.deepEqual(
      added.map((a) => [a.agent_id, a.actor, a.previous_groups]),
      [['grp-3', 'admin-socket', ['windows']]],
    );
    const unknown = await h.admin('PUT', '/api/v1/agents/nobody/groups', { groups: ['x'] });
    assert.deepEqual([unknown.status, (unknown.body as { code: string }).code], [404, 'COURIER_ERR_AGENT_NOT_FOUND']);
    const bad = await h.admin('PUT', '/api/v1/agents/grp-3/groups', { groups: 'windows' });
    assert.deepEqual([bad.status, (bad.body as { code: string }).code], [400, 'COURIER_ERR_VALIDATION']);
    assert.equal((await h.admin('PUT', '/api/v1/agents/grp-3/groups', { groups: ['windows'] })).status, 200);
  });

  const V = 'COURIER_ERR_VALIDATION';
  const OUT = 'COURIER_ERR_OUT_OF_SCOPE';
  const refusals: { name: string; id: string; body: unknown; key?: keyof typeof keys; status: number; code: string; mentions?: string }[] = [
    { name: 'malformed JSON', id: 'grp-1', body: '{"groups": [', status: 400, code: 'COURIER_ERR_MALFORMED_JSON' },
    { name: 'no groups field', id: 'grp-1', body: {}, status: 400, code: V, mentions: 'groups' },
    { name: 'groups not an array', id: 'grp-1', body: { groups: 'linux' }, status: 400, code: V, mentions: 'groups' },
    { name: 'a group that is not a string', id: 'grp-1', body: { groups: ['linux', 7] }, status: 400, code: V, mentions: 'groups' },
    { name: 'a group name with a space', id: 'grp-1', body: { groups: ['my group'] }, status: 400, code: V, mentions: 'groups' },
    { name: 'an empty group name', id: 'grp-1', body: { groups: [''] }, status: 400, code: V, mentions: 'groups' },
    { name: 'too many groups', id: 'grp-1', body: { groups: Array.from({ length: 129 }, (_, i) => `g${i}`) }, status: 400, code: V, mentions: 'groups' },
    { name: 'an unknown field', id: 'grp-1', body: { groups: ['linux'], replace: true }, status: 400, code: V, mentions: 'replace' },
    { name: 'an unknown agent', id: 'nobody', body: { groups: ['linux'] }, status: 404, code: 'COURIER_ERR_AGENT_NOT_FOUND', mentions: 'nobody' },
    { name: "an operator key (agent edits are an admin's)", id: 'grp-1', body: { groups: ['web'] }, key: 'operator', status: 403, code: 'COURIER_ERR_FORBIDDEN' },
    { name: 'a group key moving its agent into another group', id: 'grp-1', body: { groups: ['linux', 'windows'] }, key: 'linux', status: 403, code: OUT, mentions: 'windows' },
    { name: 'a group key taking its agent out of another group', id: 'grp-2', body: { groups: ['linux'] }, key: 'linux', status: 403, code: OUT, mentions: 'windows' },
    {
      name: 'a group key naming a group outside its scope, even one the agent is in',
      id: 'grp-2',
      body: { groups: ['linux', 'windows'] },
      key: 'linux',
      status: 403,
      code: OUT,
      mentions: 'windows',
    },
    { name: 'a group key on an agent outside its scope', id: 'grp-3', body: { groups: ['linux'] }, key: 'linux', status: 403, code: OUT },
    { name: 'an agent-scoped key (no group is in its scope)', id: 'grp-1', body: { groups: ['web'] }, key: 'prefix', status: 403, code: OUT, mentions: 'web' },
    { name: 'an action-scoped key that may not send set-group', id: 'grp-1', body: { groups: ['web'] }, key: 'restart', status: 403, code: OUT, mentions: 'set-group' },
  ];
  for (const c of refusals) {
    test(`refused, nothing changed: ${c.name}`, async () => {
      const before = await snapshot();
      const res = await put(c.id, c.body, keys[c.key ?? 'admin']);
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      const body = res.body as { code: string; message: string };
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
      assert.equal(body.code, c.code);
      if (c.mentions) assert.match(body.message, new RegExp(c.mentions, 'i'));
      assert.deepEqual(await snapshot(), before);
    });
  }

  test('a group key may change what is inside its scope', async () => {
    assert.equal((await put('grp-1', { groups: ['linux', 'linux'] }, keys.linux)).status, 200);
    assert.deepEqual(await groupsOf('grp-1'), ['linux']);
    assert.equal((await put('grp-1', { groups: [] }, keys.linux)).status, 200);
    assert.deepEqual(await groupsOf('grp-1'), []);
    assert.equal((await put('grp-1', { groups: ['linux'] })).status, 200);
  });

  test("a group key's set-group command may not take its agents out of a group outside its scope either", async () => {
    const before = await snapshot();
    const toAgent = await h.mgmt('POST', '/api/v1/commands', {
      key: keys.linux,
      body: { commands: [{ ...command({ type: 'agent', id: 'grp-2' }, 'set-group'), action: { name: 'set-group', args: { groups: ['linux'] }, version: '5.0.0' } }] },
    });
    assert.deepEqual([toAgent.status, (toAgent.body as { code: string }).code], [403, OUT]);
    assert.match((toAgent.body as { message: string }).message, /windows/);
    // To its group: grp-2 is a member of linux, and in windows too.
    const toGroup = await h.mgmt('POST', '/api/v1/commands', {
      key: keys.linux,
      body: { commands: [{ ...command({ type: 'group', id: 'linux' }, 'set-group'), action: { name: 'set-group', args: { groups: ['linux'] }, version: '5.0.0' } }] },
    });
    assert.deepEqual([toGroup.status, (toGroup.body as { code: string }).code], [403, OUT]);
    const shortcut = await h.mgmt('PUT', '/api/v1/agents/group?agents_list=grp-2&group_id=linux', { key: keys.linux });
    assert.deepEqual([shortcut.status, (shortcut.body as { code: string }).code], [403, OUT]);
    assert.deepEqual(await snapshot(), before);
    // Within its scope, it may.
    const inside = await h.mgmt('PUT', '/api/v1/agents/group?agents_list=grp-1&group_id=linux', { key: keys.linux });
    assert.equal(inside.status, 200, JSON.stringify(inside.body));
  });
});
