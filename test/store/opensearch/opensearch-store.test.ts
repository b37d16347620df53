// The OpenSearch store adapter against a real OpenSearch node: templates and indices, conditional
// writes (a conflict is reported, never overwritten), adoption of existing ids, the audit trail,
// paging past one page, and agents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errors as clientErrors, type Client } from '@opensearch-project/opensearch';
import pino from 'pino';
import type { CommandDocument, CommandState } from '../../../src/domain/command.js';
import { createOpenSearchClient } from '../../../src/store/opensearch/client.js';
import { indexNames, type IndexNames } from '../../../src/store/opensearch/indices.js';
import { OpenSearchStore } from '../../../src/store/opensearch/opensearch-store.js';
import { WriteBatcher } from '../../../src/runtime/write-batcher.js';
import type { StatusChange } from '../../../src/store/store.js';
import { capturingLogger } from '../../support/capturing-logger.js';
import { cluster, indexCommands, indexPrefix, openSearchTier, wazuhCommand } from '../../support/opensearch-tier.js';

const tier = openSearchTier();
const logger = pino({ level: 'silent' });

function openStore(url: string, prefix: string, node = 'node-a', pageSize = 1000, options: { client?: Client; log?: pino.Logger } = {}): OpenSearchStore {
  const client = options.client ?? createOpenSearchClient({ url });
  return new OpenSearchStore({ client, names: indexNames(prefix), node, logger: options.log ?? logger, pageSize });
}

/**
 * Cuts the connection of the `n`-th `_bulk` request from now on: `before` it reaches the cluster
 * (nothing written), or `after` the cluster ran it (its answer lost). Returns the count so far.
 */
function cutBulkRequest(client: Client, n: number, when: 'before' | 'after'): () => number {
  const target = client as unknown as { bulk: (params: unknown) => Promise<unknown> };
  const bulk = target.bulk.bind(client);
  let calls = 0;
  target.bulk = async (params) => {
    const cut = ++calls === n;
    if (cut && when === 'before') throw new clientErrors.ConnectionError('injected: connection reset');
    const answer = await bulk(params);
    if (cut) throw new clientErrors.ConnectionError('injected: connection reset before the answer');
    return answer;
  };
  return () => calls;
}

let nextSeq = 0;
function doc(id: string, agent = 'agent-1', at = Date.now()): CommandDocument {
  return {
    document_id: id,
    '@timestamp': new Date(at).toISOString(),
    delivery_timestamp: new Date(at + 100_000).toISOString(),
    agent: { id: agent, groups: [] },
    command: {
      source: 'Users/Services',
      user: 'tester',
      target: { type: 'agent', id: agent },
      action: { name: 'restart', args: {}, version: '5.0.0' },
      timeout: 100,
      request_id: 'req-1',
      order_id: `ord-${id}`,
    },
    route: `agent:${agent}`,
    seq: ++nextSeq,
  };
}

function create(store: OpenSearchStore, docs: CommandDocument[], node = 'node-a') {
  return store.commit({
    creates: docs.map((d) => ({ doc: d, audit: { document_id: d.document_id, from: null, to: 'pending', cause: 'created', at: Date.now(), node, actor: 'user:tester' } })),
    changes: [],
  });
}

function change(id: string, from: StatusChange['audit']['from'], to: StatusChange['status'], extra: Partial<StatusChange> = {}, node = 'node-a'): StatusChange {
  return {
    document_id: id,
    seq: 0, // not read by this store: it keeps each command's seq from the document it read
    status: to,
    result: null,
    deliveredAt: null,
    executionDeadline: null,
    attempts: to === 'sent' ? 1 : 0,
    claim: to === 'sent' ? { node, until: Date.now() + 60_000 } : null,
    audit: { document_id: id, from, to, cause: `to-${to}`, at: Date.now(), node, actor: 'courier' },
    ...extra,
  };
}

describe('OpenSearch store', { skip: tier.skip }, () => {
  let url: string;
  let prefix: string;
  let names: IndexNames;
  let a: OpenSearchStore;
  let b: OpenSearchStore;

  before(async () => {
    url = await tier.url();
    prefix = indexPrefix('store');
    names = indexNames(prefix);
    a = openStore(url, prefix, 'node-a');
    b = openStore(url, prefix, 'node-b');
    // Two nodes starting at once on an empty cluster.
    await Promise.all([a.open(), b.open()]);
  });
  after(async () => {
    await Promise.allSettled([a.close(), b.close()]);
  });

  test('templates and indices exist once, with one shard for the commands; opening again changes nothing', async () => {
    for (const index of Object.values(names)) {
      const template = await cluster(url, 'GET', `/_index_template/${index}-courier`);
      assert.equal(template.status, 200, index);
      assert.equal(template.body.index_templates.length, 1);
      assert.equal(template.body.index_templates[0].index_template._meta.managed_by, 'courier');
    }
    const settings = await cluster(url, 'GET', `/${names.commands}/_settings`);
    assert.equal(settings.body[names.commands].settings.index.number_of_shards, '1');
    const mapping = await cluster(url, 'GET', `/${names.commands}/_mapping`);
    const props = mapping.body[names.commands].mappings.properties;
    assert.equal(props.command.properties.status.type, 'keyword');
    assert.equal(props.courier.properties.claim.properties.until.type, 'date');

    const before = await cluster(url, 'GET', `/_index_template/${names.commands}-courier`);
    const third = openStore(url, prefix, 'node-c');
    await third.open();
    await third.close();
    const again = await cluster(url, 'GET', `/_index_template/${names.commands}-courier`);
    assert.deepEqual(again.body, before.body);
  });

  test("an existing commands index (made from Wazuh's own template) gets courier's fields and stores result data as text", async () => {
    const wazuh = indexPrefix('wazuh-made');
    const index = indexNames(wazuh).commands;
    const made = await cluster(url, 'PUT', `/${index}`, {
      settings: { number_of_shards: 1 },
      mappings: {
        dynamic: 'true',
        properties: { command: { properties: { status: { type: 'keyword' }, result: { properties: { data: { type: 'keyword', ignore_above: 1024 } } } } } },
      },
    });
    assert.equal(made.status, 200);
    const store = openStore(url, wazuh);
    await store.open();
    try {
      const mapping = await cluster(url, 'GET', `/${index}/_mapping`);
      assert.ok(mapping.body[index].mappings.properties.courier, 'courier fields added');
      const d = doc('wz-1');
      await create(store, [d]);
      const result = { code: 0, message: 'ok', data: { files: 3 } };
      const outcome = await store.commit({ creates: [], changes: [change('wz-1', 'pending', 'success', { result })] });
      assert.deepEqual(outcome.changes, ['ok']);
      const stored = await cluster(url, 'GET', `/${index}/_doc/wz-1`);
      assert.equal(stored.body._source.command.result.data, '{"files":3}');
    } finally {
      await store.close();
    }
  });

  test('a commands index with several shards is refused', async () => {
    const many = indexPrefix('many-shards');
    await cluster(url, 'PUT', `/${indexNames(many).commands}`, { settings: { number_of_shards: 2 } });
    const store = openStore(url, many);
    await assert.rejects(store.open(), /2 primary shards/);
    await store.close();
  });

  test('create, then create the same id again: the second is not written (adopted)', async () => {
    const d = doc('dup-1');
    assert.deepEqual((await create(a, [d])).created, [true]);
    const again = await create(b, [{ ...d, command: { ...d.command, user: 'someone-else' } }], 'node-b');
    assert.deepEqual(again.created, [false]);
    const stored = (await a.getCommand('dup-1'))!;
    assert.equal(stored.doc.command.user, 'tester');
    assert.equal(stored.status, 'pending');
  });

  test('conditional writes: of two nodes changing the same version, one wins and the other gets a conflict', async () => {
    await create(a, [doc('race-1')]);
    const read = (await b.getCommand('race-1'))!;
    b.adopted(read); // node b took the stored state as the basis of its next change
    const [wa, wb] = await Promise.all([
      a.commit({ creates: [], changes: [change('race-1', 'pending', 'sent', {}, 'node-a')] }),
      b.commit({ creates: [], changes: [change('race-1', 'pending', 'sent', {}, 'node-b')] }),
    ]);
    const outcomes = [wa.changes[0], wb.changes[0]].sort();
    assert.deepEqual(outcomes, ['conflict', 'ok']);
    const winner = wa.changes[0] === 'ok' ? 'node-a' : 'node-b';
    const stored = (await a.getCommand('race-1'))!;
    assert.equal(stored.status, 'sent');
    assert.equal(stored.claim!.node, winner);
    // Only the change that went through is in the audit trail.
    const trail = await a.history('race-1');
    assert.deepEqual(
      trail.map((e) => [e.from, e.to, e.node]),
      [
        [null, 'pending', 'node-a'],
        ['pending', 'sent', winner],
      ],
    );
  });

  test("an operator changes a document under a node: the node's next change is a conflict, then succeeds once re-read", async () => {
    await create(a, [doc('op-1')]);
    const edited = await cluster(url, 'POST', `/${names.commands}/_update/op-1`, { doc: { command: { status: 'cancelled' } } });
    assert.equal(edited.status, 200);
    const first = await a.commit({ creates: [], changes: [change('op-1', 'pending', 'sent')] });
    assert.deepEqual(first.changes, ['conflict']);
    const stored = (await a.getCommand('op-1'))!;
    assert.equal(stored.status, 'cancelled');
    // Re-opened by the operator; the node re-reads and adopts it, then its change goes through.
    await cluster(url, 'POST', `/${names.commands}/_update/op-1`, { doc: { command: { status: 'pending' } } });
    a.adopted((await a.getCommand('op-1'))!);
    const second = await a.commit({ creates: [], changes: [change('op-1', 'pending', 'sent')] });
    assert.deepEqual(second.changes, ['ok']);
  });

  test('a change of a command this node never read is a conflict (it must re-read first), and a deleted one too', async () => {
    await create(b, [doc('unknown-1')], 'node-b');
    assert.deepEqual((await a.commit({ creates: [], changes: [change('unknown-1', 'pending', 'sent')] })).changes, ['conflict']);
    await create(a, [doc('gone-1')]);
    await cluster(url, 'DELETE', `/${names.commands}/_doc/gone-1`);
    assert.deepEqual((await a.commit({ creates: [], changes: [change('gone-1', 'pending', 'sent')] })).changes, ['conflict']);
    assert.equal(await a.getCommand('gone-1'), null);
  });

  test('the changes of one command in one batch are one write, with an audit record for each, in order', async () => {
    await create(a, [doc('two-1')]);
    const claim = change('two-1', 'pending', 'sent');
    const deliveredAt = Date.now();
    const confirm = change('two-1', 'sent', 'delivered', { deliveredAt, executionDeadline: deliveredAt + 1000, attempts: 1 });
    const done = change('two-1', 'delivered', 'success', { deliveredAt, executionDeadline: deliveredAt + 1000, attempts: 1, result: { code: 0, message: 'ok' } });
    const outcome = await a.commit({ creates: [], changes: [claim, confirm, done] });
    assert.deepEqual(outcome.changes, ['ok', 'ok', 'ok']);
    const stored = (await b.getCommand('two-1'))!;
    assert.equal(stored.status, 'success');
    assert.equal(stored.deliveredAt, deliveredAt);
    // Created (version 1), then one update (version 2), not three.
    assert.equal((await cluster(url, 'GET', `/${names.commands}/_doc/two-1`)).body._version, 2);
    assert.deepEqual(
      (await a.history('two-1')).map((e) => e.to),
      ['pending', 'sent', 'delivered', 'success'],
    );
  });

  test("a change's audit records are in its own request: one whose answer was lost leaves the trail complete, and a retry adds nothing", async () => {
    const p = indexPrefix('answer-lost');
    const client = createOpenSearchClient({ url });
    const store = openStore(url, p, 'node-a', 1000, { client });
    await store.open();
    try {
      await create(store, [doc('lost-1'), doc('lost-2')]);
      const requests = cutBulkRequest(client, 1, 'after');
      const claims = [change('lost-1', 'pending', 'sent'), change('lost-2', 'pending', 'sent')];
      await assert.rejects(store.commit({ creates: [], changes: claims }), { code: 'COURIER_ERR_STORE_OUTCOME_UNKNOWN' });
      assert.equal(requests(), 1, 'one request for two changes and their records');
      // The cluster ran it: the commands are sent, and their trails say so.
      for (const id of ['lost-1', 'lost-2']) {
        assert.equal((await store.getCommand(id))!.status, 'sent');
        assert.deepEqual(
          (await store.history(id)).map((e) => [e.from, e.to]),
          [
            [null, 'pending'],
            ['pending', 'sent'],
          ],
        );
      }
      // Tried again (as the write batcher does): a conflict (the version moved), and no second record.
      assert.deepEqual((await store.commit({ creates: [], changes: claims })).changes, ['conflict', 'conflict']);
      assert.equal(requests(), 2);
      assert.deepEqual(
        (await store.history('lost-1')).map((e) => e.to),
        ['pending', 'sent'],
      );
    } finally {
      await store.close();
    }
  });

  test("a tail given the routes a node serves reads their commands and others' documents, not the commands of other routes", async () => {
    const p = indexPrefix('tail-routes');
    const writer = openStore(url, p, 'node-a');
    const reader = openStore(url, p, 'node-b');
    await Promise.all([writer.open(), reader.open()]);
    try {
      const { checkpoint: before } = await reader.checkpoint();
      await create(writer, [doc('mine-1', 'agent-here'), doc('theirs-1', 'agent-there')]);
      const [foreign] = await indexCommands(url, indexNames(p).commands, [wazuhCommand('agent-there')]);
      await reader.refreshCommands();
      const { checkpoint } = await reader.checkpoint();
      const page = await reader.tailPage(before, checkpoint, 100, ['agent:agent-here']);
      assert.deepEqual(page.states.map((s) => s.doc.document_id).sort(), ['mine-1', foreign!].sort());
      const all = await reader.tailPage(before, checkpoint, 100);
      assert.deepEqual(all.states.map((s) => s.doc.document_id).sort(), ['mine-1', 'theirs-1', foreign!].sort());
    } finally {
      await Promise.allSettled([writer.close(), reader.close()]);
    }
  });

  test("a re-scan given the routes a node serves reads their pending commands, others' documents and what is past its deadline, not the pending commands of other routes", async () => {
    const p = indexPrefix('rescan-routes');
    const writer = openStore(url, p, 'node-a');
    const reader = openStore(url, p, 'node-b');
    await Promise.all([writer.open(), reader.open()]);
    try {
      await create(writer, [doc('mine-r', 'agent-here'), doc('theirs-r', 'agent-there'), doc('overdue-r', 'agent-there', Date.now() - 200_000)]);
      const [foreign] = await indexCommands(url, indexNames(p).commands, [wazuhCommand('agent-there')]);
      const read = async (routes?: string[]) => {
        const ids: string[] = [];
        for await (const states of reader.rescan(100, routes)) ids.push(...states.map((s) => s.doc.document_id));
        return ids.sort();
      };
      assert.deepEqual(await read(['agent:agent-here']), ['mine-r', 'overdue-r', foreign!].sort());
      assert.deepEqual(await read(), ['mine-r', 'overdue-r', 'theirs-r', foreign!].sort());
    } finally {
      await Promise.allSettled([writer.close(), reader.close()]);
    }
  });

  test('history includes every transition written before the call, in order', async () => {
    await create(a, [doc('hist-1')]);
    const steps: [StatusChange['audit']['from'], StatusChange['status']][] = [
      ['pending', 'sent'],
      ['sent', 'pending'],
      ['pending', 'sent'],
      ['sent', 'delivered'],
      ['delivered', 'success'],
    ];
    for (const [from, to] of steps) {
      const outcome = await a.commit({ creates: [], changes: [change('hist-1', from, to, to === 'success' ? { result: { code: 0, message: 'done' } } : {})] });
      assert.deepEqual(outcome.changes, ['ok']);
    }
    const trail = await a.history('hist-1');
    assert.deepEqual(
      trail.map((e) => e.to),
      ['pending', 'sent', 'pending', 'sent', 'delivered', 'success'],
    );
    assert.ok(trail.every((e) => e.document_id === 'hist-1' && typeof e.id === 'string'));
    const stored = (await b.getCommand('hist-1'))!;
    assert.equal(stored.status, 'success');
    assert.deepEqual(stored.result, { code: 0, message: 'done' });
  });

  test('loadUnfinished pages through every unfinished command (page size 7, 40 commands), in creation order', async () => {
    const p = indexPrefix('load');
    const small = openStore(url, p, 'node-a', 7);
    await small.open();
    try {
      const t0 = Date.now() - 10_000;
      const docs = Array.from({ length: 40 }, (_, i) => doc(`load-${i}`, `agent-${i % 3}`, t0 + i));
      assert.ok((await create(small, docs)).created.every(Boolean));
      // Five of them finished: not loaded.
      for (let i = 0; i < 5; i++) await small.commit({ creates: [], changes: [change(`load-${i}`, 'pending', 'cancelled')] });
      const loaded = await small.loadUnfinished();
      assert.deepEqual(
        loaded.map((s) => s.doc.document_id),
        docs.slice(5).map((d) => d.document_id),
      );
      assert.ok(loaded.every((s: CommandState) => s.status === 'pending' && typeof s.version === 'string'));
      const counts = await small.countByStatus();
      assert.equal(counts.pending, 35);
      assert.equal(counts.cancelled, 5);
      assert.equal(await small.maxSeq(), Math.max(...docs.map((d) => d.seq)));
    } finally {
      await small.close();
    }
  });

  test("documents indexed in the Wazuh plugin's format are loaded, with an `indexed` audit record", async () => {
    const p = indexPrefix('foreign');
    const store = openStore(url, p);
    await store.open();
    try {
      const [id] = await indexCommands(url, indexNames(p).commands, [wazuhCommand('agent-w', { user: 'admin' })]);
      const [state] = await store.loadUnfinished();
      assert.equal(state!.doc.document_id, id);
      assert.equal(state!.doc.route, 'agent:agent-w');
      const trail = await store.history(id!);
      assert.deepEqual(
        trail.map((e) => [e.from, e.to, e.cause, e.actor]),
        [[null, 'pending', 'indexed', 'user:admin']],
      );
    } finally {
      await store.close();
    }
  });

  test('dates written as epoch millis, numbers or numeric strings, are read as the same instants, in canonical ISO', async () => {
    const p = indexPrefix('epoch-millis');
    const store = openStore(url, p);
    await store.open();
    try {
      const t0 = Date.parse('2025-11-28T18:40:00.000Z');
      const [asNumbers, asStrings] = await indexCommands(url, indexNames(p).commands, [
        { ...wazuhCommand('agent-ms'), '@timestamp': t0, delivery_timestamp: t0 + 100_000 },
        { ...wazuhCommand('agent-ms'), '@timestamp': String(t0 + 1), delivery_timestamp: String(t0 + 100_001) },
      ]);
      const loaded = await store.loadUnfinished();
      assert.deepEqual(
        loaded.map((s) => s.doc.document_id),
        [asNumbers, asStrings],
      );
      assert.deepEqual(
        loaded.map((s) => [s.doc['@timestamp'], s.doc.delivery_timestamp]),
        [
          ['2025-11-28T18:40:00.000Z', '2025-11-28T18:41:40.000Z'],
          ['2025-11-28T18:40:00.001Z', '2025-11-28T18:41:40.001Z'],
        ],
      );
      const read = (await store.getCommand(asStrings!))!;
      assert.equal(Date.parse(read.doc.delivery_timestamp), t0 + 100_001);
    } finally {
      await store.close();
    }
  });

  test('a document with a date courier cannot read is skipped, with one warning per version; the others are loaded', async () => {
    const p = indexPrefix('unreadable');
    const index = indexNames(p).commands;
    // An index someone else made, where @timestamp is a keyword: any text goes in.
    const made = await cluster(url, 'PUT', `/${index}`, {
      settings: { number_of_shards: 1 },
      mappings: { properties: { '@timestamp': { type: 'keyword' }, command: { properties: { status: { type: 'keyword' } } } } },
    });
    assert.equal(made.status, 200);
    const { logger: log, records } = capturingLogger();
    const store = openStore(url, p, 'node-a', 1000, { log });
    await store.open();
    try {
      const [bad, good] = await indexCommands(url, index, [{ ...wazuhCommand('agent-u'), '@timestamp': 'yesterday' }, wazuhCommand('agent-u')]);
      assert.deepEqual(
        (await store.loadUnfinished()).map((s) => s.doc.document_id),
        [good],
      );
      assert.equal(await store.getCommand(bad!), null);
      const skipped = records.filter((r) => r.msg === 'skipping a commands document courier cannot run');
      assert.deepEqual(
        skipped.map((r) => [r.document_id, r.reason]),
        [[bad, '@timestamp is not a date: "yesterday"']],
      );
    } finally {
      await store.close();
    }
  });

  test('a bulk written in part: what went through is reported written and durable, once; a refused create fails, alone; a stale change is a conflict', async () => {
    await create(a, [doc('part-ok'), doc('part-stale'), doc('part-refused')]);
    // An operator changes one of them under the node: the node's change of it is stale.
    await cluster(url, 'POST', `/${names.commands}/_update/part-stale`, { doc: { command: { status: 'cancelled' } } });
    const notADate = 'not-a-date' as unknown as number;
    const outcome = await a.commit({
      creates: [doc('part-new'), { ...doc('part-bad'), '@timestamp': 'not-a-date' }].map((d) => ({
        doc: d,
        audit: { document_id: d.document_id, from: null, to: 'pending' as const, cause: 'created', at: Date.now(), node: 'node-a', actor: 'user:tester' },
      })),
      changes: [
        change('part-ok', 'pending', 'sent'),
        change('part-stale', 'pending', 'sent'),
        // The mapping refuses it (courier.delivered_at is a date): dropped, the stored state is taken.
        change('part-refused', 'pending', 'delivered', { deliveredAt: notADate, executionDeadline: Date.now() + 1000, attempts: 1 }),
      ],
    });
    assert.deepEqual(outcome.created, [true, false]);
    assert.deepEqual([...outcome.failed!.creates.keys()], [1]);
    const refused = outcome.failed!.creates.get(1) as { code: string; message: string };
    assert.equal(refused.code, 'COURIER_ERR_STORE_REJECTED');
    assert.match(refused.message, /create part-bad: HTTP 400 mapper_parsing_exception/);
    assert.deepEqual(outcome.changes, ['ok', 'conflict', 'conflict']);
    assert.equal(outcome.failed!.changes.size, 0);

    // What was reported written is in the index, audited exactly once.
    assert.equal((await b.getCommand('part-ok'))!.status, 'sent');
    assert.deepEqual(
      (await a.history('part-ok')).map((e) => e.to),
      ['pending', 'sent'],
    );
    assert.equal((await b.getCommand('part-new'))!.status, 'pending');
    assert.deepEqual(
      (await a.history('part-new')).map((e) => e.to),
      ['pending'],
    );
    // What was not, is not.
    assert.equal(await b.getCommand('part-bad'), null);
    assert.deepEqual(await a.history('part-bad'), []);
    assert.equal((await b.getCommand('part-stale'))!.status, 'cancelled');
    assert.deepEqual(
      (await a.history('part-stale')).map((e) => e.to),
      ['pending'],
    );
    assert.equal((await b.getCommand('part-refused'))!.status, 'pending');
    assert.deepEqual(
      (await a.history('part-refused')).map((e) => e.to),
      ['pending'],
    );
    // The node's book moved on with the written change: its next change goes through.
    const next = await a.commit({ creates: [], changes: [change('part-ok', 'sent', 'pending')] });
    assert.deepEqual(next.changes, ['ok']);
    assert.deepEqual(
      (await a.history('part-ok')).map((e) => e.to),
      ['pending', 'sent', 'pending'],
    );
  });

  test('a later round of a batch fails after an earlier one was written: the written create is reported written, the change failed', async () => {
    const p = indexPrefix('rounds');
    const client = createOpenSearchClient({ url });
    const store = openStore(url, p, 'node-a', 1000, { client });
    await store.open();
    try {
      const claim = change('round-1', 'pending', 'sent');
      // A command created and changed in one batch: the change needs the version the create makes,
      // so it goes in a second round, and that round's request is lost.
      cutBulkRequest(client, 2, 'before');
      const made = doc('round-1');
      const outcome = await store.commit({
        creates: [{ doc: made, audit: { document_id: 'round-1', from: null, to: 'pending', cause: 'created', at: Date.now(), node: 'node-a', actor: 'user:tester' } }],
        changes: [claim],
      });
      assert.deepEqual(outcome.created, [true]);
      assert.deepEqual([...outcome.failed!.changes.keys()], [0]);
      // A connection reset once the request was sent: the cluster may have carried it out (here it did not).
      assert.equal((outcome.failed!.changes.get(0) as { code: string }).code, 'COURIER_ERR_STORE_OUTCOME_UNKNOWN');
      assert.equal((await store.getCommand('round-1'))!.status, 'pending');
      assert.deepEqual(
        (await store.history('round-1')).map((e) => e.to),
        ['pending'],
      );
      // Tried again (as the write batcher does), it goes through on the version the create produced.
      assert.deepEqual((await store.commit({ creates: [], changes: [claim] })).changes, ['ok']);
      assert.deepEqual(
        (await store.history('round-1')).map((e) => e.to),
        ['pending', 'sent'],
      );
    } finally {
      await store.close();
    }
  });

  test('through the write batcher, a batch written in part is completed without writing anything twice', async () => {
    const p = indexPrefix('batcher');
    const client = createOpenSearchClient({ url });
    const store = openStore(url, p, 'node-a', 1000, { client });
    await store.open();
    try {
      await create(store, [doc('batched-1')]);
      const deliveredAt = Date.now();
      const delivery = { deliveredAt, executionDeadline: deliveredAt + 60_000, attempts: 1 };
      // Three changes of one command in one batch: one write and its three audit records, in one
      // request, and that request is lost. Tried again, each is written once.
      cutBulkRequest(client, 1, 'before');
      const writes = new WriteBatcher(store, { maxBatch: 100, retryDelayMs: () => 10 });
      const settled = await Promise.all([
        writes.change(change('batched-1', 'pending', 'sent')),
        writes.change(change('batched-1', 'sent', 'delivered', delivery)),
        writes.change(change('batched-1', 'delivered', 'success', { ...delivery, result: { code: 0, message: 'done' } })),
      ]);
      assert.deepEqual(settled, ['ok', 'ok', 'ok']);
      const stored = (await store.getCommand('batched-1'))!;
      assert.equal(stored.status, 'success');
      assert.equal(stored.attempts, 1);
      assert.deepEqual(
        (await store.history('batched-1')).map((e) => [e.from, e.to]),
        [
          [null, 'pending'],
          ['pending', 'sent'],
          ['sent', 'delivered'],
          ['delivered', 'success'],
        ],
      );
    } finally {
      await store.close();
    }
  });

  test("a request is owned by whoever made its commands: courier's producer, or nobody for another writer's", async () => {
    const owned = { ...doc('own-1'), command: { ...doc('own-1').command, request_id: 'req-owned' }, owner: 'key:k1' };
    await create(a, [owned]);
    assert.deepEqual(await b.requestOwner('req-owned'), { owner: 'key:k1' });
    assert.equal((await b.getCommand('own-1'))!.doc.owner, 'key:k1');
    const plugin = wazuhCommand('agent-9');
    await indexCommands(url, names.commands, [{ ...plugin, command: { ...plugin.command, request_id: 'req-plugin' } }]);
    assert.deepEqual(await a.requestOwner('req-plugin'), { owner: null });
    assert.equal(await a.requestOwner('req-nobody'), null);
  });

  test('agents: add once, read, groups, group members past one page, remove', async () => {
    const p = indexPrefix('agents');
    const store = openStore(url, p, 'node-a', 4);
    await store.open();
    try {
      const record = (id: string, groups: string[]) => ({ id, keyHash: `hash-${id}`, groups, createdAt: 1_700_000_000_000 });
      assert.equal(await store.addAgent(record('ag-1', ['linux', 'web'])), true);
      assert.equal(await store.addAgent(record('ag-1', ['other'])), false);
      assert.deepEqual(await store.getAgent('ag-1'), record('ag-1', ['linux', 'web']));
      assert.equal(await store.getAgent('nobody'), null);
      for (let i = 2; i <= 10; i++) await store.addAgent(record(`ag-${i}`, i % 2 === 0 ? ['linux'] : ['windows']));
      const linux = await store.agentsInGroup('linux');
      assert.deepEqual(linux.map((m) => m.id).sort(), ['ag-1', 'ag-10', 'ag-2', 'ag-4', 'ag-6', 'ag-8']);
      assert.deepEqual(
        (await store.agentsInGroup('linux', 5)).map((m) => m.id),
        ['ag-1', 'ag-10', 'ag-2', 'ag-4', 'ag-6'],
        'at most the limit, in id order',
      );
      const groups = await store.agentGroups(['ag-1', 'ag-3', 'nobody']);
      assert.deepEqual([...groups.entries()].sort(), [
        ['ag-1', ['linux', 'web']],
        ['ag-3', ['windows']],
      ]);
      assert.equal(await store.removeAgent('ag-1'), true);
      assert.equal(await store.removeAgent('ag-1'), false);
      assert.equal(await store.getAgent('ag-1'), null);
    } finally {
      await store.close();
    }
  });
});
