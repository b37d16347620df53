// The lists the CLI reads, end to end over real listeners with real agents connected: the fan-outs
// (GET /api/v1/requests) and the agents by group, connection and prefix (GET /api/v1/agents), on the
// management API (a key and its scope) and on the admin socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

interface RequestItem {
  request_id: string;
  created_at: string;
  total: number;
  counts: Record<string, number>;
  action: string | null;
  target_type: string | null;
  target_id: string | null;
  source: string | null;
  user: string | null;
}
interface AgentItem {
  id: string;
  connection: string;
  node: string | null;
}
interface Page<T> {
  items: T[];
  next: string | null;
}

describe('lists of fan-outs and agents, over real listeners', () => {
  let h: Harness;
  let operatorKey: string;
  const agents: ReferenceAgent[] = [];
  let webRequest = '';
  let dbRequest = '';

  before(async () => {
    h = await startHarness({ longPollTimeout: '30s' });
    operatorKey = await h.createKey('operator', [], 'lists-operator');
    const connect = async (id: string, groups: string[], transport: 'websocket' | 'long-poll' | null) => {
      const key = await h.addAgent(id, groups);
      if (!transport) return;
      const agent = new ReferenceAgent({ url: h.url, id, key, transport, resultCode: 0 });
      agents.push(agent);
      agent.start();
    };
    await connect('web-lp', ['web'], 'long-poll');
    await connect('web-ws', ['web'], 'websocket');
    await connect('web-off', ['web'], null);
    await connect('db-ws', ['db'], 'websocket');
    await eventually(
      () => (['web-lp', 'web-ws', 'db-ws'].every((id) => h.courier.supervisor.connectionOf(`agent:${id}`) !== 'offline') ? true : undefined),
      'three agents to connect',
    );
    const send = async (target: { type: string; id: string }, action: string) => {
      const res = await h.mgmt('POST', '/api/v1/commands', { key: operatorKey, body: { commands: [command(target, action, { timeout: 3600 })] } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return (res.body as { commands: { request_id: string }[] }).commands[0]!.request_id;
    };
    webRequest = await send({ type: 'group', id: 'web' }, 'restart');
    dbRequest = await send({ type: 'agent', id: 'db-ws' }, 'fetch-config');
  });
  after(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await h?.stop();
  });

  const mgmt = async <T>(path: string, key = operatorKey) => {
    const res = await h.mgmt('GET', path, { key });
    return { status: res.status, body: res.body as T & { code?: string; message?: string } };
  };

  test('GET /api/v1/requests: the fan-outs newest first, counted as the agents report', async () => {
    const listed = await eventually(async () => {
      const page = (await mgmt<Page<RequestItem>>('/api/v1/requests')).body;
      return page.items.find((i) => i.request_id === webRequest)?.counts.success === 2 && page.items[0]?.counts.success === 1 ? page : undefined;
    }, 'the connected agents to report');
    assert.deepEqual(
      listed.items.map((i) => i.request_id),
      [dbRequest, webRequest],
    );
    const web = listed.items[1]!;
    assert.deepEqual(
      { ...web, created_at: undefined },
      {
        request_id: webRequest,
        created_at: undefined,
        total: 3,
        counts: { pending: 1, sent: 0, delivered: 0, success: 2, failure: 0, timed_out: 0, cancelled: 0 },
        action: 'restart',
        target_type: 'group',
        target_id: 'web',
        source: 'Users/Services',
        user: 'lists-operator',
      },
    );
    assert.ok(Date.parse(web.created_at) <= Date.parse(listed.items[0]!.created_at));
    // A page at a time, and filtered.
    const first = (await mgmt<Page<RequestItem>>('/api/v1/requests?limit=1')).body;
    assert.deepEqual([first.items.map((i) => i.request_id), typeof first.next], [[dbRequest], 'string']);
    const second = (await mgmt<Page<RequestItem>>(`/api/v1/requests?limit=1&cursor=${encodeURIComponent(first.next!)}`)).body;
    assert.deepEqual(
      second.items.map((i) => i.request_id),
      [webRequest],
    );
    const restarts = (await mgmt<Page<RequestItem>>('/api/v1/requests?action=restart')).body;
    assert.deepEqual(
      restarts.items.map((i) => i.request_id),
      [webRequest],
    );
    // The admin socket lists the same.
    const socket = (await h.admin('GET', '/api/v1/requests')).body as Page<RequestItem>;
    assert.deepEqual(
      socket.items.map((i) => [i.request_id, i.total]),
      [
        [dbRequest, 1],
        [webRequest, 3],
      ],
    );
  });

  test("a scoped key's request list: only its commands counted, requests with none left out", async () => {
    const key = await h.createKey('auditor', ['agent:web-o*'], 'web-o-auditor');
    const page = (await mgmt<Page<RequestItem>>('/api/v1/requests', key)).body;
    assert.deepEqual(
      page.items.map((i) => [i.request_id, i.total, i.counts.pending]),
      [[webRequest, 1, 1]],
    );
  });

  test('GET /api/v1/agents: by connection (long-poll or WebSocket), group and prefix, a page at a time', async () => {
    const ids = async (query: string, key?: string) => {
      const items: AgentItem[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: Page<AgentItem> } = await mgmt<Page<AgentItem>>(
          `/api/v1/agents?limit=1${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          key,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        items.push(...res.body.items);
        cursor = res.body.next;
      } while (cursor);
      return items.map((a) => `${a.id}:${a.connection}`);
    };
    assert.deepEqual(await ids('&connection=connected'), ['db-ws:websocket', 'web-lp:long-poll', 'web-ws:websocket']);
    assert.deepEqual(await ids('&connection=offline'), ['web-off:offline']);
    assert.deepEqual(await ids('&connection=websocket&group=web'), ['web-ws:websocket']);
    assert.deepEqual(await ids('&group=web'), ['web-lp:long-poll', 'web-off:offline', 'web-ws:websocket']);
    assert.deepEqual(await ids('&q=web-o'), ['web-off:offline']);
    const scoped = await h.createKey('auditor', ['group:db'], 'db-auditor');
    assert.deepEqual(await ids('&connection=connected', scoped), ['db-ws:websocket']);
    // The admin socket takes the same filters.
    const socket = (await h.admin('GET', '/api/v1/agents?connection=long-poll')).body as Page<AgentItem>;
    assert.deepEqual(
      socket.items.map((a) => [a.id, a.node]),
      [['web-lp', h.config.node]],
    );
  });

  test('bad input on either list: 400 with the field named, on both listeners', async () => {
    for (const path of [
      '/api/v1/agents?connection=online',
      '/api/v1/agents?limit=abc',
      '/api/v1/agents?group=a%20b',
      '/api/v1/agents?q=',
      '/api/v1/agents?state=connected',
      '/api/v1/requests?cursor=bogus',
      '/api/v1/requests?to=tomorrow',
    ]) {
      for (const res of [await h.mgmt('GET', path, { key: operatorKey }), await h.admin('GET', path)]) {
        assert.equal(res.status, 400, path);
        const body = res.body as { code: string; message: string };
        assert.equal(body.code, 'COURIER_ERR_VALIDATION', path);
        const field = new URL(path, 'http://x').searchParams.keys().next().value!;
        assert.match(body.message, new RegExp(field), path);
      }
    }
  });

  test('without a key: 401, nothing listed', async () => {
    for (const path of ['/api/v1/requests', '/api/v1/agents?connection=connected']) assert.equal((await h.mgmt('GET', path)).status, 401, path);
  });
});
