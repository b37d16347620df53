// GET /api/v1/requests as its handler answers (registered by the read routes both listeners mount),
// on an embedded store: the answer's shape, filters, pages across filters, a key's scope, bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseScope, UNRESTRICTED } from '../../src/domain/scope.js';
import type { CommandDocument } from '../../src/domain/command.js';
import { createHttpApp } from '../../src/http/app.js';
import { registerQueryRoutes } from '../../src/operator-routes/query-routes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/courier-harness.js';

const T0 = Date.parse('2026-04-01T12:00:00Z');

interface Item {
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
interface Page {
  items: Item[];
  next: string | null;
}

/** Request `r<i>` (i = 0..11): created at T0 + i minutes; even ones restart group `web` (agents w1, w2), odd ones fetch-config from agent `db1`. */
function documents(): CommandDocument[] {
  const docs: CommandDocument[] = [];
  for (let i = 0; i < 12; i++) {
    const at = new Date(T0 + i * 60_000).toISOString();
    const members = i % 2 === 0 ? ['w1', 'w2'] : ['db1'];
    for (const agent of members) {
      docs.push({
        document_id: `r${i}-${agent}`,
        '@timestamp': at,
        delivery_timestamp: at,
        agent: { id: agent, groups: i % 2 === 0 ? ['web'] : ['db'] },
        command: {
          source: 'Users/Services',
          user: `user-${i}`,
          target: i % 2 === 0 ? { type: 'group', id: 'web' } : { type: 'agent', id: 'db1' },
          action: { name: i % 2 === 0 ? 'restart' : 'fetch-config', args: {}, version: '' },
          timeout: 60,
          request_id: `r${i}`,
          order_id: 'o',
        },
        route: `agent:${agent}`,
        seq: docs.length + 1,
      });
    }
  }
  return docs;
}

describe('GET /api/v1/requests (handler)', () => {
  let store: SqliteStore;
  let app: Awaited<ReturnType<typeof createHttpApp>>;

  before(async () => {
    store = new SqliteStore({ file: `${tempDir()}/courier.db`, synchronous: 'normal' });
    await store.open();
    const docs = documents();
    await store.commit({
      creates: docs.map((doc) => ({ doc, audit: { document_id: doc.document_id, from: null, to: 'pending', cause: 'created', at: T0, node: 'n', actor: 't' } })),
      changes: [],
    });
    for (const [id, groups] of [
      ['w1', ['web']],
      ['w2', ['web']],
      ['db1', ['db']],
    ] as const) {
      await store.addAgent({ id, keyHash: 'h', groups: [...groups], createdAt: T0 });
    }
    app = await createHttpApp({ logger: pino({ level: 'silent' }), bodyLimit: 1 << 20, requestTimeoutMs: 10_000, openapi: { title: 'test', description: 'test' } });
    // The scope a key would have, from a test header.
    registerQueryRoutes(app, store.operators, (request) => (request.headers['x-scope'] ? parseScope(String(request.headers['x-scope']).split(' ')) : UNRESTRICTED));
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  const get = async (query: string, scope?: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/requests${query}`, headers: scope ? { 'x-scope': scope } : {} });
    return { status: res.statusCode, body: res.json<Page & { code?: string; message?: string }>() };
  };
  /** Follows `next` to the end, every page within `limit`. */
  const all = async (query: string, limit: number, scope?: string): Promise<Item[]> => {
    const items: Item[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const res = await get(`?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, scope);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.items.length <= limit);
      items.push(...res.body.items);
      if (!res.body.next) return items;
      cursor = res.body.next;
    }
    throw new Error('pagination does not end');
  };
  const ids = (items: Item[]) => items.map((i) => i.request_id);
  const newestFirst = (numbers: number[]) => numbers.sort((a, b) => b - a).map((n) => `r${n}`);

  test('answers newest first, each request with its counts, what it was and who asked (times in ISO 8601)', async () => {
    const res = await get('');
    assert.equal(res.status, 200);
    assert.deepEqual(ids(res.body.items), newestFirst([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    assert.equal(res.body.next, null);
    assert.deepEqual(res.body.items.at(-1), {
      request_id: 'r0',
      created_at: new Date(T0).toISOString(),
      total: 2,
      counts: { pending: 2, sent: 0, delivered: 0, success: 0, failure: 0, timed_out: 0, cancelled: 0 },
      action: 'restart',
      target_type: 'group',
      target_id: 'web',
      source: 'Users/Services',
      user: 'user-0',
    });
  });

  test('filters, and pages across them: every matching request once, none other', async () => {
    const from = new Date(T0 + 3 * 60_000).toISOString();
    const to = new Date(T0 + 9 * 60_000).toISOString();
    for (const limit of [1, 2, 5]) {
      assert.deepEqual(ids(await all('&action=restart', limit)), newestFirst([0, 2, 4, 6, 8, 10]), `limit ${limit}`);
      assert.deepEqual(ids(await all(`&from=${from}&to=${to}`, limit)), newestFirst([3, 4, 5, 6, 7, 8]), `limit ${limit}`);
      assert.deepEqual(ids(await all(`&target_type=agent&target_id=db1&from=${from}`, limit)), newestFirst([3, 5, 7, 9, 11]), `limit ${limit}`);
    }
    assert.deepEqual(ids(await all('&target_type=server', 3)), []);
  });

  test('a scoped key lists only the requests with commands in its scope, counting only those, page by page', async () => {
    const w1 = await all('', 4, 'agent:w1');
    assert.deepEqual(ids(w1), newestFirst([0, 2, 4, 6, 8, 10]));
    for (const item of w1) assert.deepEqual([item.total, item.counts.pending], [1, 1]);
    assert.deepEqual(ids(await all('', 5, 'group:db')), newestFirst([1, 3, 5, 7, 9, 11]));
    assert.deepEqual(ids(await all('', 5, 'group:web action:fetch-config')), []);
  });

  test('bad input: a clear 400 naming what is wrong, and the list unchanged', async () => {
    const before = await get('');
    for (const [query, mention] of [
      ['?limit=0', 'limit'],
      ['?limit=ten', 'limit'],
      ['?limit=1001', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'],
      ['?from=yesterday', 'from'],
      ['?target_type=planet', 'target_type'],
      ['?action=a%20b', 'action'],
      ['?status=pending', 'status'],
    ] as const) {
      const res = await get(query);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'COURIER_ERR_VALIDATION', query);
      assert.match(res.body.message!, new RegExp(mention), query);
    }
    assert.deepEqual(await get(''), before);
  });
});
