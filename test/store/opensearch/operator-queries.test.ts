// The operators' queries of the OpenSearch store against a real node: command lists with filters,
// scopes and cursors, fan-out summaries, the audit trail (ids in write order, filters on the
// command, refusals) and agents (API keys: test/store/opensearch/api-keys.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseScope, UNRESTRICTED } from '../../../src/domain/scope.js';
import type { CommandDocument } from '../../../src/domain/command.js';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import type { OperatorStore, PageOf } from '../../../src/store/operator-store.js';
import { indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../../support/opensearch-tier.js';

const tier = openSearchTier();

const T0 = Date.parse('2025-03-01T10:00:00Z');
let seq = 0;
function doc(id: string, target: { type: 'agent' | 'server'; id: string }, action: string, requestId: string, groups: string[] = [], at = T0 + seq): CommandDocument {
  return {
    document_id: id,
    '@timestamp': new Date(at).toISOString(),
    delivery_timestamp: new Date(at + 100_000).toISOString(),
    agent: { id: target.type === 'agent' ? target.id : null, groups },
    command: { source: 'Users/Services', target, action: { name: action, args: {}, version: '5.0.0' }, timeout: 100, request_id: requestId, order_id: `o-${id}` },
    route: `${target.type}:${target.id}`,
    seq: ++seq,
  };
}

/** Reads every page of a list. */
async function everything<T>(read: (cursor: string | null) => Promise<PageOf<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await read(cursor);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return items;
}

describe('OpenSearch store: operator queries', { skip: tier.skip }, () => {
  let store: OpenSearchStore;
  let ops: OperatorStore;
  let wazuhId: string;

  before(async () => {
    const url = await tier.url();
    const prefix = indexPrefix('operators');
    store = new OpenSearchStore({ client: createOpenSearchClient({ url }), names: indexNames(prefix), node: 'node-q', logger: pino({ level: 'silent' }), pageSize: 100 });
    await store.open();
    ops = store.operators;
    const docs = [
      doc('c1', { type: 'agent', id: 'web-1' }, 'restart', 'req-a', ['web']),
      doc('c2', { type: 'agent', id: 'web-2' }, 'restart', 'req-a', ['web']),
      doc('c3', { type: 'agent', id: 'db-1' }, 'restart', 'req-a', ['db']),
      doc('c4', { type: 'agent', id: 'db-1' }, 'fetch-config', 'req-b', ['db']),
      doc('c5', { type: 'server', id: 'rbac' }, 'refresh', 'req-c'),
    ];
    const created = await store.commit({
      creates: docs.map((d) => ({ doc: d, audit: { document_id: d.document_id, from: null, to: 'pending', cause: 'created', at: T0, node: 'node-q', actor: 'user:alice' } })),
      changes: [],
    });
    assert.ok(created.created.every(Boolean));
    const change = (id: string, from: 'pending' | 'sent' | 'delivered', to: 'sent' | 'delivered' | 'success' | 'failure', at: number) => ({
      document_id: id,
      seq: 0, // not read by this store: it keeps each command's seq from the document it read
      status: to,
      result: to === 'success' || to === 'failure' ? { code: to === 'success' ? 0 : 1, message: to } : null,
      deliveredAt: null,
      executionDeadline: null,
      attempts: 1,
      claim: to === 'sent' ? { node: 'node-q', until: at + 60_000 } : null,
      audit: { document_id: id, from, to, cause: to, at, node: to === 'success' ? 'node-r' : 'node-q', actor: 'agent:x' },
    });
    for (const [id, final] of [
      ['c1', 'success'],
      ['c2', 'failure'],
    ] as const) {
      for (const step of [change(id, 'pending', 'sent', T0 + 1000), change(id, 'sent', 'delivered', T0 + 2000), change(id, 'delivered', final, T0 + 3000)]) {
        assert.deepEqual((await store.commit({ creates: [], changes: [step] })).changes, ['ok']);
      }
    }
    // A document of the Wazuh plugin: its agent is named only in command.target.
    wazuhId = (await indexCommands(url, indexNames(prefix).commands, [wazuhCommand('web-3', { action: 'restart', at: T0 + 100 })]))[0]!;
    for (const [id, groups] of [
      ['web-1', ['web']],
      ['web-2', ['web']],
      ['web-3', ['web']],
      ['db-1', ['db']],
      ['mail-1', []],
    ] as const) {
      await store.addAgent({ id, keyHash: `h-${id}`, groups: [...groups], createdAt: T0 });
    }
  });
  after(() => store?.close());

  const ids = (items: { doc: { document_id: string } }[]) => items.map((s) => s.doc.document_id);

  test('commands newest first, a page at a time, with a cursor only this server issues', async () => {
    const firstPage = await ops.listCommands({}, { limit: 2 });
    assert.equal(firstPage.items.length, 2);
    assert.ok(firstPage.next);
    const listed = await everything((cursor) => ops.listCommands({}, { limit: 2, cursor }));
    assert.deepEqual(ids(listed), [wazuhId, 'c5', 'c4', 'c3', 'c2', 'c1']);
    await assert.rejects(ops.listCommands({}, { limit: 2, cursor: 'bogus' }), /not a cursor this server issued/);
  });

  test('filters: status, target, action, request, agent (also in a plugin document), time', async () => {
    const list = (filter: Parameters<OperatorStore['listCommands']>[0]) => everything((cursor) => ops.listCommands(filter, { limit: 10, cursor })).then(ids);
    assert.deepEqual(await list({ status: ['success', 'failure'] }), ['c2', 'c1']);
    assert.deepEqual(await list({ targetType: 'server' }), ['c5']);
    assert.deepEqual(await list({ targetType: 'agent', targetId: 'db-1' }), ['c4', 'c3']);
    assert.deepEqual(await list({ action: 'fetch-config' }), ['c4']);
    assert.deepEqual(await list({ requestId: 'req-a' }), ['c3', 'c2', 'c1']);
    assert.deepEqual(await list({ agentId: 'web-3' }), [wazuhId]);
    assert.deepEqual(await list({ from: T0 + 2, to: T0 + 4 }), ['c4', 'c3']);
  });

  test("a key's scope: agent prefixes, groups, server components, actions", async () => {
    const list = (scope: string[]) => everything((cursor) => ops.listCommands({ scope: parseScope(scope) }, { limit: 10, cursor })).then(ids);
    assert.deepEqual(await list(['agent:web-*']), [wazuhId, 'c2', 'c1']);
    assert.deepEqual(await list(['group:db']), ['c4', 'c3']);
    assert.deepEqual(await list(['server:rbac']), ['c5']);
    assert.deepEqual(await list(['group:db', 'action:restart']), ['c3']);
    assert.deepEqual(await list(['agent:mail-1']), []);
  });

  test('a fan-out summary: counts per status, and what did not succeed, oldest first', async () => {
    const summary = (await ops.requestSummary('req-a', { limit: 1 }))!;
    assert.equal(summary.total, 3);
    assert.equal(summary.counts.success, 1);
    assert.equal(summary.counts.failure, 1);
    assert.equal(summary.counts.pending, 1);
    const notSucceeded = await everything(async (cursor) => (await ops.requestSummary('req-a', { limit: 1, cursor }))!.not_succeeded);
    assert.deepEqual(
      notSucceeded.map((c) => [c.document_id, c.agent_id, c.status, c.result?.message ?? null]),
      [
        ['c2', 'web-2', 'failure', 'failure'],
        ['c3', 'db-1', 'pending', null],
      ],
    );
    assert.equal(await ops.requestSummary('req-none', { limit: 10 }), null);
    assert.equal((await ops.requestSummary('req-a', { limit: 10 }, parseScope(['group:db'])))!.total, 1);
  });

  test('the audit trail: ids grow in write order; filters on the record and on its command; refusals', async () => {
    const trail = await everything((cursor) => ops.queryAudit({}, { limit: 4, cursor }));
    const numeric = trail.map((e) => Number(e.id));
    assert.deepEqual(
      numeric,
      [...numeric].sort((x, y) => x - y),
    );
    assert.equal(new Set(numeric).size, numeric.length);
    // Newest first, page after page: the same entries, the other way round.
    const newest = await everything((cursor) => ops.queryAudit({}, { limit: 4, cursor }, 'desc'));
    assert.deepEqual(
      newest.map((e) => e.id),
      trail.map((e) => e.id).reverse(),
    );
    const newestPending = await everything((cursor) => ops.queryAudit({ status: ['pending'] }, { limit: 2, cursor }, 'desc'));
    assert.deepEqual(
      newestPending.map((e) => e.id),
      trail
        .filter((e) => e.kind === 'transition' && e.to === 'pending')
        .map((e) => e.id)
        .reverse(),
    );
    const query = (filter: Parameters<OperatorStore['queryAudit']>[0]) => everything((cursor) => ops.queryAudit(filter, { limit: 3, cursor }));
    assert.deepEqual(
      (await query({ status: ['success'] })).map((e) => e.document_id),
      ['c1'],
    );
    assert.deepEqual(
      (await query({ node: 'node-r' })).map((e) => e.document_id),
      ['c1'],
    );
    assert.deepEqual(
      (await query({ agentId: 'web-2' })).map((e) => (e.kind === 'transition' ? e.to : null)),
      ['pending', 'sent', 'delivered', 'failure'],
    );
    assert.deepEqual(
      (await query({ action: 'fetch-config' })).map((e) => e.document_id),
      ['c4'],
    );
    assert.deepEqual(
      (await query({ scope: parseScope(['server:rbac']) })).map((e) => e.document_id),
      ['c5'],
    );
    assert.deepEqual(
      (await query({ from: T0 + 2500 })).map((e) => e.document_id),
      ['c1', 'c2'],
    );

    const latest = await ops.latestAuditId();
    assert.equal(latest, trail.at(-1)!.id);
    await ops.recordRefusal({ document_id: null, at: T0 + 5000, node: 'node-q', actor: 'key:k1', detail: "POST /api/v1/commands: outside the key's scope (group:db)" });
    await ops.recordRefusal({ document_id: 'c3', at: T0 + 6000, node: 'node-q', actor: 'key:k1', detail: "cancel: outside the key's scope" });
    const since = await ops.queryAudit({}, { limit: 10, cursor: latest });
    assert.deepEqual(
      since.items.map((e) => [e.kind, e.document_id]),
      [
        ['refusal', null],
        ['refusal', 'c3'],
      ],
    );
    assert.equal((await ops.queryAudit({ kind: 'refusal' }, { limit: 10 })).items.length, 2);
    // A filter on commands keeps only the refusal about a command it matches.
    assert.deepEqual(
      (await query({ kind: 'refusal', agentId: 'db-1' })).map((e) => e.document_id),
      ['c3'],
    );
    assert.deepEqual((await query({ kind: 'refusal', scope: UNRESTRICTED })).length, 2);
    // History is the transitions alone.
    assert.deepEqual(
      (await store.history('c3')).map((e) => e.to),
      ['pending'],
    );
  });

  test('agents by id, a page at a time, and within a scope', async () => {
    const agents = await everything((cursor) => ops.listAgents({ limit: 2, cursor }));
    assert.deepEqual(
      agents.map((a) => a.id),
      ['db-1', 'mail-1', 'web-1', 'web-2', 'web-3'],
    );
    assert.deepEqual(agents[0], { id: 'db-1', keyHash: 'h-db-1', groups: ['db'], createdAt: T0 });
    const scoped = await everything((cursor) => ops.listAgents({ limit: 2, cursor }, parseScope(['group:db', 'agent:web-1'])));
    assert.deepEqual(
      scoped.map((a) => a.id),
      ['db-1', 'web-1'],
    );
    assert.deepEqual((await ops.listAgents({ limit: 10 }, parseScope(['server:rbac']))).items, []);
  });
});
