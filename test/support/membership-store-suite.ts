/**
 * Store-level tests of agents' groups, run against each adapter (the embedded SQLite store and
 * OpenSearch): an operator's edit, and the change a set-group command's success carries, each
 * setting the registry's groups (and group membership) and writing one audit record of kind
 * `membership` naming the groups before and after; nothing for an agent that is not registered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CommandDocument } from '../../src/domain/command.js';
import type { AuditEntry } from '../../src/store/operator-store.js';
import type { AgentRecord, MembershipChange } from '../../src/store/records.js';
import type { CommandStore, StatusChange } from '../../src/store/store.js';

const T0 = 1_800_000_000_000;

const agent = (id: string, groups: string[]): AgentRecord => ({ id, keyHash: `key-of-${id}`, groups, createdAt: T0 });
const fresh = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** A set-group command to `agentId`, as the supervisor creates it. */
function setGroupDoc(id: string, seq: number, agentId: string, groups: string[]): CommandDocument {
  return {
    document_id: id,
    '@timestamp': new Date(T0).toISOString(),
    delivery_timestamp: new Date(T0 + 3_600_000).toISOString(),
    agent: { id: agentId, groups: [] },
    command: {
      source: 's',
      target: { type: 'agent', id: agentId },
      action: { name: 'set-group', args: { groups }, version: '5.0.0' },
      timeout: 3600,
      request_id: `r-${id}`,
      order_id: 'o',
    },
    route: `agent:${agentId}`,
    seq,
  };
}

/** The change of a command straight to `status` (a result reported while pending). */
function finalChange(doc: CommandDocument, status: 'success' | 'failure', membership?: MembershipChange): StatusChange {
  const at = T0 + 10;
  return {
    document_id: doc.document_id,
    seq: doc.seq,
    status,
    result: { code: status === 'success' ? 0 : 1, message: status },
    deliveredAt: null,
    executionDeadline: null,
    attempts: 0,
    claim: null,
    audit: { document_id: doc.document_id, from: 'pending', to: status, cause: 'result', at, node: 'n', actor: `agent:${doc.agent.id}` },
    ...(membership ? { membership } : {}),
  };
}

async function membershipRecords(store: CommandStore, agentId: string): Promise<AuditEntry[]> {
  const page = await store.operators!.queryAudit({ kind: 'membership' }, { limit: 1000 });
  return page.items.filter((e) => e.kind === 'membership' && e.agent_id === agentId);
}

const members = async (store: CommandStore, group: string) => (await store.agentsInGroup(group)).map((m) => m.id);

/** Registers the suite's tests; `store()` gives the (open) store under test, shared by the tests. */
export function membershipStoreTests(store: () => CommandStore): void {
  test("an operator's edit sets the agent's groups and membership, audited with the groups it replaced", async () => {
    const id = fresh('edited');
    const [linux, web, db] = [fresh('linux'), fresh('web'), fresh('db')];
    assert.equal(await store().addAgent(agent(id, [linux])), true);
    const change: MembershipChange = { agent_id: id, groups: [web, db], document_id: null, cause: 'edited', at: T0 + 5, node: 'n1', actor: 'key:ops' };
    const written = await store().setAgentGroups(change);
    assert.deepEqual(written, agent(id, [web, db]));
    assert.deepEqual((await store().getAgent(id))!.groups, [web, db]);
    assert.deepEqual((await store().agentGroups([id])).get(id), [web, db]);
    assert.deepEqual(await members(store(), web), [id]);
    assert.deepEqual(await members(store(), linux), []);
    const [record, ...more] = await membershipRecords(store(), id);
    assert.deepEqual(more, []);
    assert.deepEqual(
      { ...record!, id: undefined },
      {
        kind: 'membership',
        id: undefined,
        agent_id: id,
        groups: [web, db],
        previous_groups: [linux],
        document_id: null,
        cause: 'edited',
        at: T0 + 5,
        node: 'n1',
        actor: 'key:ops',
      },
    );
  });

  test('an edit of an agent that is not registered writes nothing', async () => {
    const id = fresh('nobody');
    assert.equal(await store().setAgentGroups({ agent_id: id, groups: ['x'], document_id: null, cause: 'edited', at: T0, node: 'n1', actor: 'key:ops' }), null);
    assert.equal(await store().getAgent(id), null);
    assert.deepEqual(await membershipRecords(store(), id), []);
  });

  test("a set-group command's success carries its groups: written with the transition, audited naming the command", async () => {
    const id = fresh('moved');
    const [linux, web] = [fresh('linux'), fresh('web')];
    await store().addAgent(agent(id, [linux]));
    const doc = setGroupDoc(fresh('cmd'), 1_000 + Math.floor(Math.random() * 1e9), id, [web]);
    await store().commit({ creates: [{ doc, audit: { document_id: doc.document_id, from: null, to: 'pending', cause: 'created', at: T0, node: 'n', actor: 't' } }], changes: [] });
    const membership: MembershipChange = { agent_id: id, groups: [web], document_id: doc.document_id, cause: 'set-group', at: T0 + 10, node: 'n2', actor: `agent:${id}` };
    const outcome = await store().commit({ creates: [], changes: [finalChange(doc, 'success', membership)] });
    assert.deepEqual(outcome.changes, ['ok']);
    assert.equal((await store().getCommand(doc.document_id))!.status, 'success');
    assert.deepEqual((await store().getAgent(id))!.groups, [web]);
    assert.deepEqual(await members(store(), web), [id]);
    const records = await membershipRecords(store(), id);
    assert.deepEqual(
      records.map((r) => r.kind === 'membership' && [r.document_id, r.cause, r.previous_groups, r.groups, r.actor, r.node]),
      [[doc.document_id, 'set-group', [linux], [web], `agent:${id}`, 'n2']],
    );
    // The command's own trail is its transitions alone.
    assert.deepEqual(
      (await store().history(doc.document_id)).map((e) => e.to),
      ['pending', 'success'],
    );
  });

  test('a change that carries no membership (a failure) leaves the groups as they are', async () => {
    const id = fresh('stays');
    const linux = fresh('linux');
    await store().addAgent(agent(id, [linux]));
    const doc = setGroupDoc(fresh('cmd'), 1_000 + Math.floor(Math.random() * 1e9), id, ['elsewhere']);
    await store().commit({ creates: [{ doc, audit: { document_id: doc.document_id, from: null, to: 'pending', cause: 'created', at: T0, node: 'n', actor: 't' } }], changes: [] });
    assert.deepEqual((await store().commit({ creates: [], changes: [finalChange(doc, 'failure')] })).changes, ['ok']);
    assert.deepEqual((await store().getAgent(id))!.groups, [linux]);
    assert.deepEqual(await membershipRecords(store(), id), []);
  });
}
