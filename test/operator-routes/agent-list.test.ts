// The agent list's connection filter over the store's cursor: a fleet larger than one request reads,
// its few connected agents (here and on another node) found page after page, none skipped or repeated.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScope, UNRESTRICTED, type Scope } from '../../src/domain/scope.js';
import { CONNECTION_SCAN_BUDGET, listAgentsWithConnection, type AgentListDeps } from '../../src/operator-routes/agent-list.js';
import type { AgentListFilter } from '../../src/operator-routes/agent-list-schemas.js';
import type { AgentRegistry } from '../../src/auth/agent-registry.js';
import type { Supervisor } from '../../src/runtime/supervisor.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/courier-harness.js';

const FLEET = CONNECTION_SCAN_BUDGET + 1000;
const id = (i: number) => `ag-${String(i).padStart(5, '0')}`;
/** Connected here: every 1000th agent from the 7th (by WebSocket, or long-poll for the odd thousands). */
const HERE = new Map(Array.from({ length: FLEET / 1000 }, (_, k) => [`agent:${id(k * 1000 + 7)}`, k % 2 === 0 ? ('websocket' as const) : ('long-poll' as const)]));
/** Connected to another node of the cluster. */
const ELSEWHERE = id(FLEET - 500);

describe('agent list: filters over the store cursor', () => {
  let store: SqliteStore;
  let deps: AgentListDeps;

  before(async () => {
    store = new SqliteStore({ file: `${tempDir()}/courier.db`, synchronous: 'normal' });
    await store.open();
    for (let i = 0; i < FLEET; i++) await store.addAgent({ id: id(i), keyHash: 'h', groups: i % 2 === 0 ? ['even'] : ['odd'], createdAt: 0 });
    deps = {
      operators: store.operators,
      node: 'node-1',
      supervisor: { connectionOf: (route: string) => HERE.get(route) ?? 'offline' } as unknown as Supervisor,
      agents: { lastSeen: () => null } as unknown as AgentRegistry,
      connectedElsewhere: async (routes) => new Map(routes.filter((r) => r === `agent:${ELSEWHERE}`).map((r) => [r, { node: 'node-2', transport: 'websocket' as const }])),
    };
  });
  after(() => store?.close());

  /** Every page to the end; how many pages it took. */
  async function everything(filter: AgentListFilter, limit: number, scope: Scope = UNRESTRICTED) {
    const items: { id: string; connection: string; node: string | null }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: typeof items; next: string | null } = await listAgentsWithConnection(deps, { limit, cursor }, scope, filter);
      assert.ok(page.items.length <= limit);
      items.push(...page.items);
      cursor = page.next;
      pages++;
    } while (cursor);
    return { items, pages };
  }

  const connected = [...[...HERE.keys()].map((r) => r.slice('agent:'.length)), ELSEWHERE].sort();

  test('connected: every agent connected here or on another node, once, in id order, whatever the page size', async () => {
    for (const limit of [1, 2, 3, 100]) {
      const { items } = await everything({ connection: 'connected' }, limit);
      assert.deepEqual(
        items.map((a) => a.id),
        connected,
        `limit ${limit}`,
      );
    }
    const { items } = await everything({ connection: 'connected' }, 100);
    assert.deepEqual(
      items.find((a) => a.id === ELSEWHERE),
      { id: ELSEWHERE, name: null, groups: ['even'], created_at: new Date(0).toISOString(), connection: 'websocket', node: 'node-2', last_seen: null },
    );
  });

  test('one request reads a bounded number of agents: a short page with a cursor, then the rest', async () => {
    const first = await listAgentsWithConnection(deps, { limit: 100, cursor: null }, UNRESTRICTED, { connection: 'connected' });
    assert.deepEqual(
      first.items.map((a) => a.id),
      connected.filter((a) => a < id(CONNECTION_SCAN_BUDGET)),
    );
    assert.equal(first.next, id(CONNECTION_SCAN_BUDGET - 1));
    const rest = await listAgentsWithConnection(deps, { limit: 100, cursor: first.next }, UNRESTRICTED, { connection: 'connected' });
    assert.deepEqual(
      rest.items.map((a) => a.id),
      connected.filter((a) => a >= id(CONNECTION_SCAN_BUDGET)),
    );
    assert.equal(rest.next, null);
  });

  test('a transport, offline, and the connection with the group, prefix and scope filters', async () => {
    const websocket = await everything({ connection: 'websocket' }, 4);
    assert.deepEqual(
      websocket.items.map((a) => a.id),
      connected.filter((a) => HERE.get(`agent:${a}`) === 'websocket' || a === ELSEWHERE),
    );
    const longPoll = await everything({ connection: 'long-poll', group: 'odd' }, 2);
    assert.deepEqual(
      longPoll.items.map((a) => a.id),
      [id(1007), id(3007), id(5007)],
    );
    assert.deepEqual((await everything({ connection: 'long-poll', group: 'even' }, 2)).items, []);
    const offline = await everything({ connection: 'offline', prefix: 'ag-0100' }, 3);
    assert.deepEqual(
      offline.items.map((a) => a.id),
      Array.from({ length: 10 }, (_, i) => id(1000 + i)).filter((a) => a !== id(1007)),
    );
    const scoped = await everything({ connection: 'connected', group: 'odd' }, 2, parseScope(['agent:ag-01*', 'agent:ag-03*']));
    assert.deepEqual(
      scoped.items.map((a) => a.id),
      [id(1007), id(3007)],
    );
    const offlineCount = (await everything({ connection: 'offline' }, 1000)).items.length;
    assert.equal(offlineCount, FLEET - connected.length);
  });
});
