/**
 * Store-level tests of the operators' lists of fan-outs and of agents, run against each adapter (the
 * embedded SQLite store and OpenSearch): requests newest first by their first command, their counts
 * and what they were, filters, a key's scope, cursors across ties; agents by group and id/name prefix.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScope } from '../../src/domain/scope.js';
import type { CommandDocument, CommandStatus, TargetType } from '../../src/domain/command.js';
import type { OperatorStore, PageOf, RequestFilter, RequestListItem } from '../../src/store/operator-store.js';
import type { CommandStore } from '../../src/store/store.js';

const T0 = Date.parse('2026-02-01T08:00:00Z');

interface Planned {
  id: string;
  request: string;
  target: { type: TargetType; id: string };
  agent: string | null;
  groups?: string[];
  action: string;
  at: number;
  status?: CommandStatus;
}

/**
 * req-group: a group fan-out to `fleet` (3 agents at T0+10, one more added under its id at T0+40);
 * req-single: one agent at T0+20; req-mixed: an agent and a server component, two actions, at T0+30;
 * req-tie-1 and req-tie-2: one command each, created in the same millisecond (T0+50).
 */
const PLAN: Planned[] = [
  { id: 'g-1', request: 'req-group', target: { type: 'group', id: 'fleet' }, agent: 'g1', groups: ['fleet'], action: 'restart', at: T0 + 10, status: 'success' },
  { id: 'g-2', request: 'req-group', target: { type: 'group', id: 'fleet' }, agent: 'g2', groups: ['fleet'], action: 'restart', at: T0 + 10, status: 'failure' },
  { id: 'g-3', request: 'req-group', target: { type: 'group', id: 'fleet' }, agent: 'g3', groups: ['fleet'], action: 'restart', at: T0 + 10 },
  { id: 's-1', request: 'req-single', target: { type: 'agent', id: 'a1' }, agent: 'a1', action: 'fetch-config', at: T0 + 20, status: 'cancelled' },
  { id: 'm-1', request: 'req-mixed', target: { type: 'agent', id: 'a1' }, agent: 'a1', action: 'restart', at: T0 + 30 },
  { id: 'm-2', request: 'req-mixed', target: { type: 'server', id: 'rbac' }, agent: null, action: 'refresh', at: T0 + 30 },
  { id: 'g-4', request: 'req-group', target: { type: 'group', id: 'fleet' }, agent: 'g4', groups: ['fleet'], action: 'restart', at: T0 + 40 },
  { id: 't-1', request: 'req-tie-1', target: { type: 'agent', id: 'a1' }, agent: 'a1', action: 'restart', at: T0 + 50 },
  { id: 't-2', request: 'req-tie-2', target: { type: 'agent', id: 'a1' }, agent: 'a1', action: 'restart', at: T0 + 50 },
];

function documentOf(p: Planned, seq: number): CommandDocument {
  return {
    document_id: p.id,
    '@timestamp': new Date(p.at).toISOString(),
    delivery_timestamp: new Date(p.at + 3_600_000).toISOString(),
    agent: { id: p.agent, groups: p.groups ?? [] },
    command: {
      source: 'Users/Services',
      ...(p.request === 'req-group' ? { user: 'alice' } : {}),
      target: p.target,
      action: { name: p.action, args: {}, version: '' },
      timeout: 3600,
      request_id: p.request,
      order_id: `o-${p.id}`,
    },
    route: p.agent ? `agent:${p.agent}` : `server:${p.target.id}`,
    seq,
  };
}

/** Reads every page of a list. */
export async function everything<T>(read: (cursor: string | null) => Promise<PageOf<T>>, limit = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page: PageOf<T> = await read(cursor);
    assert.ok(page.items.length <= limit, `a page of ${page.items.length} with limit ${limit}`);
    items.push(...page.items);
    if (!page.next) return items;
    cursor = page.next;
  }
  throw new Error('pagination does not end');
}

const counts = (set: Partial<Record<CommandStatus, number>>) => ({ pending: 0, sent: 0, delivered: 0, success: 0, failure: 0, timed_out: 0, cancelled: 0, ...set });

/** `store()` is opened before the suite runs and fresh (no commands, no agents); `seqBase` is past any seq it holds. */
export function operatorListStoreTests(store: () => CommandStore, seqBase = 0): void {
  const ops = (): OperatorStore => store().operators!;
  const requests = (filter: RequestFilter = {}, limit = 100) => everything((cursor) => ops().listRequests(filter, { limit, cursor }), limit);
  const ids = (items: RequestListItem[]) => items.map((i) => i.request_id);
  /** Ties have no order both stores share: the two tied requests come first, in either order. */
  const untied = (items: RequestListItem[]) => {
    assert.deepEqual(ids(items.slice(0, 2)).sort(), ['req-tie-1', 'req-tie-2']);
    return ids(items.slice(2));
  };

  before(async () => {
    const s = store();
    const docs = PLAN.map((p, i) => documentOf(p, seqBase + i + 1));
    const created = await s.commit({
      creates: docs.map((doc) => ({ doc, audit: { document_id: doc.document_id, from: null, to: 'pending', cause: 'created', at: T0, node: 'n', actor: 'tester' } })),
      changes: [],
    });
    assert.ok(created.created.every(Boolean));
    const changes = PLAN.flatMap((p, i) =>
      p.status
        ? [
            {
              document_id: p.id,
              seq: seqBase + i + 1,
              status: p.status,
              result: p.status === 'success' || p.status === 'failure' ? { code: p.status === 'success' ? 0 : 1, message: p.status } : null,
              deliveredAt: null,
              executionDeadline: null,
              attempts: 1,
              claim: null,
              audit: { document_id: p.id, from: 'pending' as const, to: p.status, cause: p.status, at: T0 + 100, node: 'n', actor: 'tester' },
            },
          ]
        : [],
    );
    assert.deepEqual((await s.commit({ creates: [], changes })).changes, ['ok', 'ok', 'ok']);
    for (const [id, groups, name] of [
      ['g1', ['fleet'], 'gamma-1'],
      ['g2', ['fleet'], undefined],
      ['g3', ['fleet'], undefined],
      ['g4', ['fleet', 'db'], undefined],
      ['a1', ['db'], 'alpha-host'],
      ['b1', [], 'bravo'],
    ] as const) {
      await s.addAgent({ id, keyHash: `h-${id}`, groups: [...groups], createdAt: T0, ...(name ? { name } : {}) });
    }
  });

  test('requests newest first by their first command, each with its counts, what it was and who asked', async () => {
    const listed = await requests();
    assert.deepEqual(untied(listed), ['req-mixed', 'req-single', 'req-group']);
    const byId = new Map(listed.map((i) => [i.request_id, i]));
    // Created with its first command, though one was added at T0+40; the late one counts.
    assert.deepEqual(byId.get('req-group'), {
      request_id: 'req-group',
      created_at: T0 + 10,
      total: 4,
      counts: counts({ success: 1, failure: 1, pending: 2 }),
      action: 'restart',
      target_type: 'group',
      target_id: 'fleet',
      source: 'Users/Services',
      user: 'alice',
    });
    assert.deepEqual(byId.get('req-single'), {
      request_id: 'req-single',
      created_at: T0 + 20,
      total: 1,
      counts: counts({ cancelled: 1 }),
      action: 'fetch-config',
      target_type: 'agent',
      target_id: 'a1',
      source: 'Users/Services',
      user: null,
    });
    // Two actions, two kinds of target: none of them is the request's.
    const mixed = byId.get('req-mixed')!;
    assert.deepEqual(
      { total: mixed.total, action: mixed.action, target_type: mixed.target_type, target_id: mixed.target_id },
      { total: 2, action: null, target_type: null, target_id: null },
    );
    assert.equal(byId.get('req-tie-1')!.created_at, T0 + 50);
  });

  test('a page at a time, whatever its size: every request once, in the same order (ties included)', async () => {
    const whole = ids(await requests());
    for (const limit of [1, 2, 3, 4, 5, 6]) {
      const paged = ids(await requests({}, limit));
      assert.deepEqual(paged, whole, `limit ${limit}`);
    }
    const first = await ops().listRequests({}, { limit: 5 });
    assert.equal(first.items.length, 5);
    assert.ok(first.next, 'a full page has a next cursor');
    assert.deepEqual(await ops().listRequests({}, { limit: 5, cursor: first.next }), { items: [], next: null });
  });

  test('filters select the commands a request is made of; from and to select by when it was created', async () => {
    const restarts = await requests({ action: 'restart' });
    assert.deepEqual(untied(restarts), ['req-mixed', 'req-group']);
    const mixedRestart = restarts.find((i) => i.request_id === 'req-mixed')!;
    assert.deepEqual(
      { total: mixedRestart.total, action: mixedRestart.action, target_type: mixedRestart.target_type, target_id: mixedRestart.target_id },
      { total: 1, action: 'restart', target_type: 'agent', target_id: 'a1' },
    );
    assert.deepEqual(ids(await requests({ action: 'fetch-config' })), ['req-single']);
    assert.deepEqual(ids(await requests({ targetType: 'group' })), ['req-group']);
    assert.deepEqual(ids(await requests({ targetType: 'server', targetId: 'rbac' })), ['req-mixed']);
    assert.equal((await requests({ targetType: 'server' }))[0]!.total, 1);
    assert.deepEqual(ids(await requests({ action: 'no-such-action' })), []);
    // req-group was created at T0+10: a command added at T0+40 does not make it newer.
    assert.deepEqual(ids(await requests({ from: T0 + 20, to: T0 + 50 })), ['req-mixed', 'req-single']);
    assert.deepEqual(ids(await requests({ to: T0 + 20 })), ['req-group']);
    assert.deepEqual(ids(await requests({ from: T0 + 11, to: T0 + 20 })), []);
    // Filtered, a page at a time.
    assert.deepEqual(ids(await requests({ from: T0 + 10, to: T0 + 50 }, 1)), ['req-mixed', 'req-single', 'req-group']);
  });

  test("a key's scope: only requests with commands in it, counting only those", async () => {
    const scoped = (patterns: string[], limit = 100) => requests({ scope: parseScope(patterns) }, limit);
    const fleet = await scoped(['group:fleet']);
    assert.deepEqual(ids(fleet), ['req-group']);
    assert.equal(fleet[0]!.total, 4);
    const one = await scoped(['agent:g1']);
    assert.deepEqual(
      one.map((i) => ({ id: i.request_id, total: i.total, counts: i.counts })),
      [{ id: 'req-group', total: 1, counts: counts({ success: 1 }) }],
    );
    // In scope, req-mixed is its restart of a1 alone: one action, one target.
    const a1 = await scoped(['agent:a1'], 1);
    assert.deepEqual(untied(a1), ['req-mixed', 'req-single']);
    const mixed = a1.find((i) => i.request_id === 'req-mixed')!;
    assert.deepEqual({ total: mixed.total, action: mixed.action, target_id: mixed.target_id }, { total: 1, action: 'restart', target_id: 'a1' });
    assert.deepEqual(ids(await scoped(['server:rbac'])), ['req-mixed']);
    assert.deepEqual(ids(await scoped(['group:fleet', 'action:fetch-config'])), []);
    assert.deepEqual(ids(await scoped(['server:nothing-here'])), []);
  });

  test('a cursor this store did not issue is refused', async () => {
    await assert.rejects(ops().listRequests({}, { limit: 2, cursor: 'not-a-cursor' }), /not a cursor this server issued/);
  });

  test('agents by group and by id or name prefix, with the scope, a page at a time', async () => {
    const agents = (filter: Parameters<OperatorStore['listAgents']>[2], scope?: string[], limit = 1) =>
      everything((cursor) => ops().listAgents({ limit, cursor }, scope ? parseScope(scope) : undefined, filter), limit).then((items) => items.map((a) => a.id));
    assert.deepEqual(await agents({ group: 'fleet' }), ['g1', 'g2', 'g3', 'g4']);
    assert.deepEqual(await agents({ group: 'db' }), ['a1', 'g4']);
    assert.deepEqual(await agents({ group: 'nobody' }), []);
    assert.deepEqual(await agents({ prefix: 'g' }), ['g1', 'g2', 'g3', 'g4']);
    // By name: g1 is called gamma-1.
    assert.deepEqual(await agents({ prefix: 'gam' }), ['g1']);
    assert.deepEqual(await agents({ prefix: 'alpha' }), ['a1']);
    assert.deepEqual(await agents({ prefix: 'b', group: 'fleet' }), []);
    assert.deepEqual(await agents({ group: 'fleet' }, ['group:db']), ['g4']);
    assert.deepEqual(await agents({ group: 'fleet', prefix: 'g' }, ['agent:g2', 'agent:g3'], 100), ['g2', 'g3']);
    assert.deepEqual(await agents({}), ['a1', 'b1', 'g1', 'g2', 'g3', 'g4']);
  });
}
