import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * Key scopes on every route of the management API. Four operator keys, each scoped one way
 * (a group, an agent-id prefix, an action, a server module), reach what is inside their scope and
 * are refused (403 COURIER_ERR_OUT_OF_SCOPE) outside it; list routes show only what is inside.
 * Every refusal is audited and changes nothing: no command is created, cancelled or touched.
 */

type Target = { type: 'agent' | 'group' | 'server'; id: string };
interface CommandItem {
  document_id: string;
  status: string;
  agent: { id: string | null; groups: string[] };
  target: Target;
  action: { name: string };
  request_id: string;
}
interface AuditItem {
  id: string;
  kind: 'transition' | 'refusal';
  document_id: string | null;
  actor: string;
  detail?: string;
}
interface ShortcutBody {
  data: {
    affected_items: string[];
    total_affected_items: number;
    failed_items: { id: string }[];
    commands: { agent_id: string; document_id: string }[];
    request_id: string | null;
  };
  error: number;
}

/** The fleet: agent id -> groups. */
const AGENTS: Record<string, string[]> = {
  'web-1': ['linux'],
  'web-2': ['windows'],
  'db-1': ['linux'],
  'db-2': ['windows'],
  'app-1': [],
};
const AGENT_IDS = Object.keys(AGENTS);
const LONG = { timeout: 3600 };

interface ScopeCase {
  /** Key name (the audit actor is `key:<name>`). */
  name: string;
  scopes: string[];
  /** Agents inside the scope. */
  agents: string[];
  /** Whether an existing command is inside the scope (an explicit restatement of the scope). */
  sees(c: CommandItem): boolean;
  /** Submissions the key may make. */
  sendIn: { target: Target; action: string }[];
  /** Submissions it may not make. */
  sendOut: { target: Target; action: string }[];
  /** Whether the key may send set-group through the shortcut (its action scope). */
  setGroup: boolean;
  /** The groups it may move agents into (set-group reaches as far as the groups it sets). */
  groups: string[];
}

const CASES: ScopeCase[] = [
  {
    name: 'linux-key',
    scopes: ['group:linux'],
    agents: ['web-1', 'db-1'],
    sees: (c) => c.agent.id === 'web-1' || c.agent.id === 'db-1',
    sendIn: [
      { target: { type: 'agent', id: 'web-1' }, action: 'restart' },
      { target: { type: 'agent', id: 'db-1' }, action: 'fetch-config' },
      { target: { type: 'group', id: 'linux' }, action: 'restart' },
    ],
    sendOut: [
      { target: { type: 'agent', id: 'web-2' }, action: 'restart' },
      { target: { type: 'agent', id: 'app-1' }, action: 'restart' },
      { target: { type: 'group', id: 'windows' }, action: 'restart' },
      { target: { type: 'server', id: 'rbac' }, action: 'restart' },
    ],
    setGroup: true,
    groups: ['linux'],
  },
  {
    name: 'web-key',
    scopes: ['agent:web-*'],
    agents: ['web-1', 'web-2'],
    sees: (c) => c.agent.id !== null && c.agent.id.startsWith('web-'),
    sendIn: [
      { target: { type: 'agent', id: 'web-1' }, action: 'restart' },
      { target: { type: 'agent', id: 'web-2' }, action: 'fetch-config' },
    ],
    sendOut: [
      { target: { type: 'agent', id: 'db-1' }, action: 'restart' },
      // A group is out of reach for a key scoped to agents, even a group of in-scope agents.
      { target: { type: 'group', id: 'linux' }, action: 'restart' },
      { target: { type: 'server', id: 'rbac' }, action: 'restart' },
    ],
    setGroup: true,
    // No group in its scope: moving web-1 into linux would hand it to the keys of group linux.
    groups: [],
  },
  {
    name: 'restart-key',
    scopes: ['action:restart'],
    agents: AGENT_IDS,
    sees: (c) => c.action.name === 'restart',
    sendIn: [
      { target: { type: 'agent', id: 'db-2' }, action: 'restart' },
      { target: { type: 'group', id: 'windows' }, action: 'restart' },
      { target: { type: 'server', id: 'rbac' }, action: 'restart' },
    ],
    sendOut: [
      { target: { type: 'agent', id: 'web-1' }, action: 'fetch-config' },
      { target: { type: 'group', id: 'linux' }, action: 'fetch-config' },
      { target: { type: 'server', id: 'rbac' }, action: 'fetch-config' },
    ],
    setGroup: false,
    groups: ['linux', 'windows'],
  },
  {
    name: 'rbac-key',
    scopes: ['server:rbac'],
    agents: [],
    sees: (c) => c.agent.id === null && c.target.type === 'server' && c.target.id === 'rbac',
    sendIn: [
      { target: { type: 'server', id: 'rbac' }, action: 'restart' },
      { target: { type: 'server', id: 'rbac' }, action: 'fetch-config' },
    ],
    sendOut: [
      { target: { type: 'server', id: 'other' }, action: 'restart' },
      { target: { type: 'agent', id: 'web-1' }, action: 'restart' },
      { target: { type: 'group', id: 'linux' }, action: 'restart' },
    ],
    setGroup: false,
    groups: [],
  },
];

describe('management API: key scopes', () => {
  let h: Harness;
  let adminKey: string;
  const keys: Record<string, string> = {};
  /** One command per (agent, action) and per server module, all in one request. */
  let fixture: CommandItem[] = [];
  let fixtureRequest = '';

  before(async () => {
    h = await startHarness();
    for (const [id, groups] of Object.entries(AGENTS)) await h.addAgent(id, groups);
    adminKey = await h.createKey('admin', [], 'scope-admin');
    for (const c of CASES) keys[c.name] = await h.createKey('operator', c.scopes, c.name);
    const specs = [
      ...AGENT_IDS.flatMap((id) => [command({ type: 'agent', id }, 'restart', LONG), command({ type: 'agent', id }, 'fetch-config', LONG)]),
      command({ type: 'server', id: 'rbac' }, 'restart', LONG),
      command({ type: 'server', id: 'rbac' }, 'fetch-config', LONG),
      command({ type: 'server', id: 'other' }, 'restart', LONG),
    ];
    const created = await h.send(specs);
    fixture = await Promise.all(created.map(async (c) => (await h.admin('GET', `/api/v1/commands/${c.document_id}`)).body as CommandItem));
    fixtureRequest = fixture[0]!.request_id;
    assert.ok(fixture.every((c) => c.request_id === fixtureRequest));
  });
  after(() => h.stop());

  // ---- helpers --------------------------------------------------------------------------

  /** Every item of a keyset-paginated list route, following `next` to the end. */
  async function allItems<T>(path: string, key: string, field: 'items' = 'items'): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await h.mgmt('GET', `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key });
      assert.equal(res.status, 200, `GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      const body = res.body as Record<'items', T[]> & { next: string | null };
      items.push(...body[field]);
      if (!body.next) return items;
      cursor = body.next;
    }
    throw new Error(`${path}: too many pages`);
  }

  const allCommands = () => allItems<CommandItem>('/api/v1/commands', adminKey);
  const allAudit = () => allItems<AuditItem>('/api/v1/audit', adminKey);
  const commandsOf = async (agent: string) => (await allItems<CommandItem>(`/api/v1/commands?agent=${agent}`, adminKey)).length;

  /** Everything a refusal must leave as it was: every command with its status, and the transitions. */
  async function snapshot() {
    const commands = (await allCommands()).map((c) => `${c.document_id}:${c.status}`).sort();
    const audit = await allAudit();
    return {
      commands,
      transitions: audit.filter((a) => a.kind === 'transition').map((a) => a.id),
      refusals: audit.filter((a) => a.kind === 'refusal'),
    };
  }

  /**
   * Makes the request with a scoped key and asserts: 403 COURIER_ERR_OUT_OF_SCOPE (or the answer
   * given, e.g. the one an unknown id gets) in the `{"message","code"}` shape, exactly one new
   * refusal by this key naming the route, and nothing else changed.
   */
  async function assertRefused(c: ScopeCase, method: string, path: string, body?: unknown, expected: { status: number; body?: unknown } = { status: 403 }): Promise<void> {
    const before = await snapshot();
    const res = await h.mgmt(method, path, { key: keys[c.name]!, ...(body !== undefined ? { body } : {}) });
    const what = `${c.name} ${method} ${path}`;
    assert.equal(res.status, expected.status, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.deepEqual(Object.keys(res.body as object).sort(), ['code', 'message'], what);
    if (expected.body !== undefined) assert.deepEqual(res.body, expected.body, what);
    else assert.equal((res.body as { code: string }).code, 'COURIER_ERR_OUT_OF_SCOPE', what);
    const after = await snapshot();
    assert.deepEqual(after.commands, before.commands, `${what} changed commands`);
    assert.deepEqual(after.transitions, before.transitions, `${what} wrote transitions`);
    const added = after.refusals.filter((r) => !before.refusals.some((b) => b.id === r.id));
    assert.equal(added.length, 1, `${what}: expected one new refusal, got ${JSON.stringify(added)}`);
    assert.equal(added[0]!.actor, `key:${c.name}`, what);
    assert.ok(added[0]!.detail!.startsWith(`${method} ${path.split('?')[0]}`), `${what}: refusal detail ${added[0]!.detail}`);
    // ...and the refusal is found by the audit filter an operator would use.
    const byKind = await allItems<AuditItem>(`/api/v1/audit?kind=refusal&actor=key:${c.name}`, adminKey);
    assert.ok(
      byKind.some((r) => r.id === added[0]!.id),
      `${what}: refusal not listed by ?kind=refusal`,
    );
  }

  const specOf = (s: { target: Target; action: string }) => command(s.target, s.action, LONG);
  const outOfScope = (c: ScopeCase) => fixture.filter((f) => !c.sees(f));
  const inScope = (c: ScopeCase) => fixture.filter((f) => c.sees(f));

  // ---- the matrix -----------------------------------------------------------------------

  for (const c of CASES) {
    describe(`${c.name} (${c.scopes.join(', ')})`, () => {
      test('POST /commands: every in-scope target and action is accepted, recorded with the key as user', async () => {
        for (const s of c.sendIn) {
          const res = await h.mgmt('POST', '/api/v1/commands', { key: keys[c.name]!, body: { commands: [specOf(s)] } });
          assert.equal(res.status, 201, `${JSON.stringify(s)}: ${res.status} ${JSON.stringify(res.body)}`);
          const created = (res.body as { commands: (CommandItem & { user: string })[] }).commands;
          assert.ok(created.length >= 1);
          for (const doc of created) {
            assert.equal(doc.user, c.name);
            assert.ok(c.sees(doc), `created a command outside the scope: ${JSON.stringify(doc)}`);
          }
        }
      });

      test('POST /commands: every out-of-scope target or action is refused, audited, and creates nothing', async () => {
        for (const s of c.sendOut) await assertRefused(c, 'POST', '/api/v1/commands', { commands: [specOf(s)] });
      });

      test('POST /commands: a batch with one out-of-scope command is refused whole', async () => {
        await assertRefused(c, 'POST', '/api/v1/commands', { commands: [specOf(c.sendIn[0]!), specOf(c.sendOut[0]!)] });
      });

      test('GET /commands/:id, /history and POST /cancel: inside the scope they work', async () => {
        const [created] = (
          (await h.mgmt('POST', '/api/v1/commands', { key: keys[c.name]!, body: { commands: [specOf(c.sendIn[0]!)] } })).body as {
            commands: CommandItem[];
          }
        ).commands;
        const id = created!.document_id;
        const read = await h.mgmt('GET', `/api/v1/commands/${id}`, { key: keys[c.name]! });
        assert.equal(read.status, 200, JSON.stringify(read.body));
        assert.equal((read.body as CommandItem).document_id, id);
        const history = await h.mgmt('GET', `/api/v1/commands/${id}/history`, { key: keys[c.name]! });
        assert.equal(history.status, 200, JSON.stringify(history.body));
        assert.equal((history.body as { events: { actor: string }[] }).events[0]!.actor, `key:${c.name}`);
        const cancel = await h.mgmt('POST', `/api/v1/commands/${id}/cancel`, { key: keys[c.name]! });
        assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
        assert.equal((cancel.body as CommandItem).status, 'cancelled');
        const fixtureIn = inScope(c);
        for (const f of fixtureIn) {
          const res = await h.mgmt('GET', `/api/v1/commands/${f.document_id}`, { key: keys[c.name]! });
          assert.equal(res.status, 200, `${f.document_id}: ${JSON.stringify(res.body)}`);
        }
      });

      test('GET /commands/:id, /history and POST /cancel of an out-of-scope command: answered as an unknown id, audited, nothing changes', async () => {
        const out = outOfScope(c);
        assert.ok(out.length > 0);
        // What an id no command has gets: the out-of-scope ones must get the same, so that a scoped key
        // cannot tell which ids exist outside its scope.
        const unknown = await h.mgmt('GET', '/api/v1/commands/no-such-command', { key: keys[c.name]! });
        assert.equal(unknown.status, 404);
        const asUnknown = (id: string) => ({ status: 404, body: JSON.parse(JSON.stringify(unknown.body).replaceAll('no-such-command', id)) });
        for (const f of out) {
          await assertRefused(c, 'GET', `/api/v1/commands/${f.document_id}`, undefined, asUnknown(f.document_id));
          await assertRefused(c, 'GET', `/api/v1/commands/${f.document_id}/history`, undefined, asUnknown(f.document_id));
          await assertRefused(c, 'POST', `/api/v1/commands/${f.document_id}/cancel`, undefined, asUnknown(f.document_id));
          const state = (await h.admin('GET', `/api/v1/commands/${f.document_id}`)).body as CommandItem;
          assert.equal(state.status, 'pending', `${f.document_id} was touched`);
        }
      });

      test('GET /commands lists only in-scope commands (all of them), with every filter', async () => {
        const listed = await allItems<CommandItem>(`/api/v1/commands?request_id=${fixtureRequest}`, keys[c.name]!);
        assert.deepEqual(
          listed.map((l) => l.document_id).sort(),
          inScope(c)
            .map((f) => f.document_id)
            .sort(),
        );
        const everything = await allItems<CommandItem>('/api/v1/commands', keys[c.name]!);
        const all = await allCommands();
        assert.deepEqual(
          everything.map((l) => l.document_id).sort(),
          all
            .filter((x) => c.sees(x))
            .map((x) => x.document_id)
            .sort(),
        );
        // Asking for an out-of-scope agent by name shows nothing.
        for (const agent of AGENT_IDS.filter((a) => !c.agents.includes(a))) {
          const byAgent = await allItems<CommandItem>(`/api/v1/commands?agent=${agent}`, keys[c.name]!);
          assert.deepEqual(
            byAgent.filter((x) => !c.sees(x)),
            [],
            `agent=${agent}`,
          );
        }
      });

      test('GET /requests/:id counts and lists only in-scope commands', async () => {
        const res = await h.mgmt('GET', `/api/v1/requests/${fixtureRequest}?limit=1000`, { key: keys[c.name]! });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const summary = res.body as { total: number; counts: Record<string, number>; not_succeeded: { items: { document_id: string }[] } };
        // Every fixture command is still pending: refusals change nothing, and the cancels above used fresh commands.
        const expected = inScope(c);
        assert.equal(summary.total, inScope(c).length);
        assert.equal(summary.counts.pending, inScope(c).length);
        assert.deepEqual(summary.not_succeeded.items.map((i) => i.document_id).sort(), expected.map((f) => f.document_id).sort());
      });

      test('GET /requests/:id of a request wholly outside the scope answers 404, revealing nothing', async () => {
        const out = outOfScope(c)[0]!;
        const spec = out.agent.id !== null ? command({ type: 'agent', id: out.agent.id }, out.action.name, LONG) : command(out.target, out.action.name, LONG);
        const [created] = await h.send([spec]);
        const requestId = ((await h.admin('GET', `/api/v1/commands/${created!.document_id}`)).body as CommandItem).request_id;
        const res = await h.mgmt('GET', `/api/v1/requests/${requestId}`, { key: keys[c.name]! });
        assert.equal(res.status, 404, JSON.stringify(res.body));
        assert.equal((res.body as { code: string }).code, 'COURIER_ERR_REQUEST_NOT_FOUND');
        assert.ok(!JSON.stringify(res.body).includes(created!.document_id));
        assert.equal((await h.admin('POST', `/api/v1/commands/${created!.document_id}/cancel`)).status, 200);
      });

      test('GET /audit lists only records of in-scope commands', async () => {
        const all = await allCommands();
        const visible = new Set(all.filter((x) => c.sees(x)).map((x) => x.document_id));
        const audit = await allItems<AuditItem>('/api/v1/audit', keys[c.name]!);
        for (const entry of audit) {
          assert.ok(entry.document_id !== null && visible.has(entry.document_id), `${c.name} sees ${JSON.stringify(entry)}`);
        }
        // Every in-scope fixture command's creation is there.
        const created = new Set(audit.filter((a) => a.kind === 'transition').map((a) => a.document_id));
        for (const f of inScope(c)) assert.ok(created.has(f.document_id), `missing audit of ${f.document_id}`);
        // Filters narrow within the scope; they never widen it.
        for (const agent of AGENT_IDS) {
          const byAgent = await allItems<AuditItem>(`/api/v1/audit?agent=${agent}`, keys[c.name]!);
          for (const entry of byAgent) assert.ok(visible.has(entry.document_id!), `agent=${agent}: ${JSON.stringify(entry)}`);
          if (!c.agents.includes(agent)) assert.equal(byAgent.length, 0, `agent=${agent} is outside ${c.name}`);
        }
      });

      test('GET /agents lists exactly the in-scope agents', async () => {
        const listed = await allItems<{ id: string }>('/api/v1/agents', keys[c.name]!);
        assert.deepEqual(listed.map((a) => a.id).sort(), [...c.agents].sort());
      });

      test('GET /agents paginated one by one covers the in-scope agents and never names an out-of-scope one', async () => {
        const outside = AGENT_IDS.filter((a) => !c.agents.includes(a));
        const seen: string[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 100; pages++) {
          const res = await h.mgmt('GET', `/api/v1/agents?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: keys[c.name]! });
          assert.equal(res.status, 200);
          const text = JSON.stringify(res.body);
          for (const o of outside) assert.ok(!text.includes(`"${o}"`), `${c.name} learns of out-of-scope agent ${o}: ${text}`);
          const body = res.body as { items: { id: string }[]; next: string | null };
          seen.push(...body.items.map((i) => i.id));
          if (!body.next) break;
          cursor = body.next;
        }
        assert.deepEqual(seen.sort(), [...c.agents].sort());
      });

      test('PUT /agents/:id/restart: an in-scope agent gets one restart; an out-of-scope one is refused', async () => {
        for (const agent of c.agents) {
          const before = await commandsOf(agent);
          const res = await h.mgmt('PUT', `/api/v1/agents/${agent}/restart`, { key: keys[c.name]! });
          assert.equal(res.status, 200, `${agent}: ${JSON.stringify(res.body)}`);
          assert.deepEqual((res.body as ShortcutBody).data.affected_items, [agent]);
          assert.equal(await commandsOf(agent), before + 1);
        }
        for (const agent of AGENT_IDS.filter((a) => !c.agents.includes(a))) {
          await assertRefused(c, 'PUT', `/api/v1/agents/${agent}/restart`);
        }
      });

      test('PUT /agents/restart?agents_list=: in-scope agents are restarted; a list naming an out-of-scope agent is refused whole', async () => {
        if (c.agents.length > 0) {
          const res = await h.mgmt('PUT', `/api/v1/agents/restart?agents_list=${c.agents.join(',')}`, { key: keys[c.name]! });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.deepEqual([...(res.body as ShortcutBody).data.affected_items].sort(), [...c.agents].sort());
        }
        for (const agent of AGENT_IDS.filter((a) => !c.agents.includes(a))) {
          await assertRefused(c, 'PUT', `/api/v1/agents/restart?agents_list=${[...c.agents, agent].join(',')}`);
        }
      });

      test('PUT /agents/restart with an EMPTY list restarts every in-scope agent and no other', async () => {
        const before = Object.fromEntries(await Promise.all(AGENT_IDS.map(async (a) => [a, await commandsOf(a)] as const)));
        const servers = (await allCommands()).filter((x) => x.agent.id === null).length;
        const res = await h.mgmt('PUT', '/api/v1/agents/restart?agents_list=', { key: keys[c.name]! });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const body = res.body as ShortcutBody;
        assert.deepEqual([...body.data.affected_items].sort(), [...c.agents].sort());
        assert.equal(body.data.total_affected_items, c.agents.length);
        for (const agent of AGENT_IDS) {
          const expected = before[agent]! + (c.agents.includes(agent) ? 1 : 0);
          assert.equal(await commandsOf(agent), expected, `commands of ${agent}`);
        }
        assert.equal((await allCommands()).filter((x) => x.agent.id === null).length, servers);
        // Without the parameter at all, the same.
        const bare = await h.mgmt('PUT', '/api/v1/agents/restart', { key: keys[c.name]! });
        assert.equal(bare.status, 200, JSON.stringify(bare.body));
        assert.deepEqual([...(bare.body as ShortcutBody).data.affected_items].sort(), [...c.agents].sort());
      });

      test('PUT /agents/group: in-scope agents get set-group to an in-scope group; out-of-scope agents, groups (or action) are refused', async () => {
        const allowed = c.groups[0];
        if (c.setGroup) {
          for (const agent of c.agents) {
            if (allowed !== undefined) {
              const before = await commandsOf(agent);
              const res = await h.mgmt('PUT', `/api/v1/agents/group?agents_list=${agent}&group_id=${allowed}`, { key: keys[c.name]! });
              assert.equal(res.status, 200, `${agent}: ${JSON.stringify(res.body)}`);
              assert.deepEqual((res.body as ShortcutBody).data.affected_items, [agent]);
              assert.equal(await commandsOf(agent), before + 1);
            }
            // An in-scope agent moved into a group outside the scope.
            for (const group of ['linux', 'windows'].filter((g) => !c.groups.includes(g))) {
              await assertRefused(c, 'PUT', `/api/v1/agents/group?agents_list=${agent}&group_id=${group}`);
            }
          }
        } else {
          // The action itself is outside the scope (or there is no agent in it).
          for (const agent of c.agents.length > 0 ? c.agents.slice(0, 2) : []) {
            await assertRefused(c, 'PUT', `/api/v1/agents/group?agents_list=${agent}&group_id=linux`);
          }
        }
        for (const agent of AGENT_IDS.filter((a) => !c.agents.includes(a))) {
          await assertRefused(c, 'PUT', `/api/v1/agents/group?agents_list=${agent}&group_id=${allowed ?? 'linux'}`);
          if (c.agents.length > 0) await assertRefused(c, 'PUT', `/api/v1/agents/group?agents_list=${c.agents[0]},${agent}&group_id=${allowed ?? 'linux'}`);
        }
      });
    });
  }

  // ---- beyond the four keys -------------------------------------------------------------

  test('a scoped key cannot tell an unknown agent from an out-of-scope one through the shortcuts', async () => {
    const linux = CASES[0]!;
    // POST /commands treats both alike (403) ...
    await assertRefused(linux, 'POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'no-such-agent' }, 'restart', LONG)] });
    await assertRefused(linux, 'POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'db-2' }, 'restart', LONG)] });
    // ... so must the shortcuts: a known agent outside the scope is refused, and so is an unknown one.
    await assertRefused(linux, 'PUT', '/api/v1/agents/db-2/restart');
    await assertRefused(linux, 'PUT', '/api/v1/agents/no-such-agent/restart');
  });

  describe('an admin-role key scoped to group linux', () => {
    const c: ScopeCase = { ...CASES[0]!, name: 'linux-admin' };
    before(async () => {
      keys['linux-admin'] = await h.createKey('admin', ['group:linux'], 'linux-admin');
    });

    test('may register and remove an agent inside its group', async (t) => {
      t.after(() => h.admin('DELETE', '/api/v1/agents/new-linux'));
      const made = await h.mgmt('POST', '/api/v1/agents', { key: keys['linux-admin']!, body: { id: 'new-linux', groups: ['linux'] } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const removed = await h.mgmt('DELETE', '/api/v1/agents/new-linux', { key: keys['linux-admin']! });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
    });

    test('may not remove an agent outside its group', async (t) => {
      await h.addAgent('doomed-windows', ['windows']);
      t.after(() => h.admin('DELETE', '/api/v1/agents/doomed-windows'));
      await assertRefused(c, 'DELETE', '/api/v1/agents/doomed-windows');
      assert.equal((await h.admin('GET', '/api/v1/agents/doomed-windows')).status, 200, 'the out-of-scope agent was removed');
    });

    test('may not register an agent outside its group', async (t) => {
      t.after(() => h.admin('DELETE', '/api/v1/agents/new-windows'));
      await assertRefused(c, 'POST', '/api/v1/agents', { id: 'new-windows', groups: ['windows'] });
      assert.equal((await h.admin('GET', '/api/v1/agents/new-windows')).status, 404, 'an agent outside the scope was registered');
    });
  });

  test('invalid scope strings are refused at key creation (400) and no key is made', async () => {
    const before = ((await h.admin('GET', '/api/v1/keys')).body as { items: unknown[] }).items.length;
    const bad: unknown[] = [
      ['group:'],
      ['group'],
      ['agent:'],
      ['agent:*'],
      ['agent:web-**'],
      ['group:lin*'],
      ['server:rb*'],
      ['action:re*'],
      ['action:re start'],
      ['foo:bar'],
      ['Group:linux'],
      ['group:linux '],
      [' group:linux'],
      ['group:linux/../x'],
      ['group:linux', 'agent:'],
      [''],
      ['x'.repeat(301)],
      'group:linux',
      [42],
      [null],
    ];
    for (const scopes of bad) {
      const res = await h.admin('POST', '/api/v1/keys', { role: 'operator', scopes, name: 'never-made' });
      assert.equal(res.status, 400, `${JSON.stringify(scopes)}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.deepEqual(Object.keys(res.body as object).sort(), ['code', 'message'], JSON.stringify(scopes));
      assert.equal((res.body as { code: string }).code, 'COURIER_ERR_VALIDATION', JSON.stringify(scopes));
    }
    const keysAfter = ((await h.admin('GET', '/api/v1/keys')).body as { items: { name: string }[] }).items;
    assert.equal(keysAfter.length, before);
    assert.ok(!keysAfter.some((k) => k.name === 'never-made'));
    // The valid forms are accepted and normalised as written.
    const ok = await h.admin('POST', '/api/v1/keys', { role: 'auditor', scopes: ['agent:web-*', 'agent:db-1', 'group:linux', 'server:rbac', 'action:restart'] });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual([...(ok.body as { scopes: string[] }).scopes].sort(), ['action:restart', 'agent:db-1', 'agent:web-*', 'group:linux', 'server:rbac']);
  });
});
