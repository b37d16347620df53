import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandDocument, CommandStatus } from '../../src/domain/command.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { StatusChange } from '../../src/store/store.js';
import { commandDoc, createdRecord } from '../support/command-documents.js';

const doc = commandDoc;
const created = createdRecord;

async function withStore(run: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-'));
  const store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
  try {
    await store.open();
    await run(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('creating a document_id that exists reports it as not created and changes nothing', () =>
  withStore(async (store) => {
    assert.deepEqual((await store.commit({ creates: [{ doc: doc('c1', 1), audit: created('c1') }], changes: [] })).created, [true]);
    assert.deepEqual((await store.commit({ creates: [{ doc: doc('c1', 2), audit: created('c1') }], changes: [] })).created, [false]);
    assert.equal((await store.getCommand('c1'))!.doc.seq, 1);
    assert.equal((await store.history('c1')).length, 1, 'no second creation record');
  }));

test('a new document_id with a seq already taken fails the whole commit instead of vanishing', () =>
  withStore(async (store) => {
    await store.commit({ creates: [{ doc: doc('c1', 1), audit: created('c1') }], changes: [] });
    // Before: INSERT OR IGNORE swallowed the seq collision and reported c2 as "already there",
    // though no such command exists.
    await assert.rejects(
      store.commit({
        creates: [
          { doc: doc('c3', 3), audit: created('c3') },
          { doc: doc('c2', 1), audit: created('c2') },
        ],
        changes: [],
      }),
      /UNIQUE/,
    );
    assert.equal(await store.getCommand('c2'), null);
    assert.equal(await store.getCommand('c3'), null, 'the transaction was rolled back');
  }));

/** A change of `doc` to `to`, as the runtime builds it (the whole mutable state, and its audit record). */
function change(d: CommandDocument, from: CommandStatus, to: CommandStatus, at: number, extra: Partial<StatusChange> = {}): StatusChange {
  return {
    document_id: d.document_id,
    seq: d.seq,
    status: to,
    result: null,
    deliveredAt: null,
    executionDeadline: null,
    attempts: 1,
    claim: null,
    audit: { document_id: d.document_id, from, to, cause: `to-${to}`, at, node: 'n', actor: 'agent:a1' },
    ...extra,
  };
}

test('two changes of one command in one batch: the row ends in the last state, each has its audit record, in order', () =>
  withStore(async (store) => {
    const c1 = doc('c1', 1);
    const c2 = doc('c2', 2);
    await store.commit({ creates: [c1, c2].map((d) => ({ doc: d, audit: created(d.document_id) })), changes: [] });
    await store.commit({ creates: [], changes: [change(c1, 'pending', 'sent', 2), change(c2, 'pending', 'sent', 2)] });
    // The agent's ack and its result, read in one turn, with another command's change between them.
    const outcome = await store.commit({
      creates: [],
      changes: [
        change(c1, 'sent', 'delivered', 3, { deliveredAt: 3, executionDeadline: 1003 }),
        change(c2, 'sent', 'delivered', 4, { deliveredAt: 4, executionDeadline: 1004 }),
        change(c1, 'delivered', 'success', 5, { deliveredAt: 3, executionDeadline: 1003, result: { code: 0, message: 'done' } }),
      ],
    });
    assert.deepEqual(outcome.changes, ['ok', 'ok', 'ok']);
    const state = (await store.getCommand('c1'))!;
    assert.deepEqual(
      { status: state.status, result: state.result, deliveredAt: state.deliveredAt, executionDeadline: state.executionDeadline, attempts: state.attempts },
      { status: 'success', result: { code: 0, message: 'done' }, deliveredAt: 3, executionDeadline: 1003, attempts: 1 },
    );
    assert.equal((await store.getCommand('c2'))!.status, 'delivered');
    assert.deepEqual(
      (await store.history('c1')).map((e) => [e.from, e.to, e.at]),
      [
        [null, 'pending', 1],
        ['pending', 'sent', 2],
        ['sent', 'delivered', 3],
        ['delivered', 'success', 5],
      ],
    );
    assert.deepEqual(
      (await store.history('c2')).map((e) => e.to),
      ['pending', 'sent', 'delivered'],
    );
    assert.deepEqual(await store.loadUnfinished().then((s) => s.map((c) => c.doc.document_id)), ['c2'], 'c1 left the unfinished commands');
    const ids = (await store.operators.queryAudit({}, { limit: 100, cursor: null })).items.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'the trail is in commit order',
    );
    // Newest first, two at a time: the same trail the other way round, each cursor going on where its page ended.
    const newest: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.operators.queryAudit({}, { limit: 2, cursor }, 'desc');
      newest.push(...page.items.map((e) => Number(e.id)));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(newest, [...ids].reverse());
  }));

test('a batch of many commands writes every audit record, in order, each on its own command trail', () =>
  withStore(async (store) => {
    // Each audit record joins its command's trail by the seq the write carries.
    const docs = Array.from({ length: 150 }, (_, i) => doc(`m${i}`, i + 1));
    const outcome = await store.commit({
      creates: [...docs, docs[0]!].map((d) => ({ doc: d, audit: created(d.document_id) })),
      changes: [],
    });
    assert.deepEqual(outcome.created, [...docs.map(() => true), false], 'a repeated document_id is not created, nor audited, twice');
    await store.commit({
      creates: [],
      changes: docs.flatMap((d, i) => [change(d, 'pending', 'sent', 10 + i), change(d, 'sent', 'delivered', 1000 + i)]),
    });
    const trail = (await store.operators.queryAudit({}, { limit: 1000, cursor: null })).items;
    assert.equal(trail.length, 450);
    assert.deepEqual(
      trail.map((e) => (e.kind === 'transition' ? `${e.document_id}:${e.to}` : '')),
      [...docs.map((d) => `${d.document_id}:pending`), ...docs.flatMap((d) => [`${d.document_id}:sent`, `${d.document_id}:delivered`])],
    );
    for (const d of [docs[0]!, docs[74]!, docs[149]!]) {
      assert.deepEqual(
        (await store.history(d.document_id)).map((e) => e.to),
        ['pending', 'sent', 'delivered'],
      );
      assert.equal((await store.getCommand(d.document_id))!.status, 'delivered');
    }
    // The management API's filters join the trail to its command by seq.
    const ofOne = await store.operators.queryAudit({ agentId: 'a1', status: ['delivered'] }, { limit: 1000, cursor: null });
    assert.equal(ofOne.items.length, 150);
  }));

test('a change names its command by document_id and seq: a seq of another command writes nothing to that command', () =>
  withStore(async (store) => {
    const c1 = doc('c1', 1);
    const c2 = doc('c2', 2);
    await store.commit({ creates: [c1, c2].map((d) => ({ doc: d, audit: created(d.document_id) })), changes: [] });
    await store.commit({ creates: [], changes: [{ ...change(c1, 'pending', 'sent', 2), seq: 2 }] });
    assert.equal((await store.getCommand('c2'))!.status, 'pending');
  }));

test('counts by status, asked before and after commits, match a count of the rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-'));
  const file = join(dir, 'courier.db');
  const store = new SqliteStore({ file, synchronous: 'normal' });
  try {
    const [c1, c2, c3] = [doc('c1', 1), doc('c2', 2), doc('c3', 3)];
    await store.commit({ creates: [c1].map((d) => ({ doc: d, audit: created(d.document_id) })), changes: [] });
    assert.equal((await store.countByStatus()).pending, 1); // counted from the rows, then kept up to date
    await store.commit({ creates: [c2, c3, c1].map((d) => ({ doc: d, audit: created(d.document_id) })), changes: [] });
    await store.commit({ creates: [], changes: [change(c1, 'pending', 'sent', 2), change(c2, 'pending', 'cancelled', 2)] });
    await store.commit({ creates: [], changes: [change(c1, 'sent', 'delivered', 3), change(c1, 'delivered', 'failure', 4)] });
    const kept = await store.countByStatus();
    const fresh = new SqliteStore({ file, synchronous: 'normal' });
    try {
      assert.deepEqual(kept, await fresh.countByStatus());
    } finally {
      await fresh.close();
    }
    assert.deepEqual([kept.pending, kept.sent, kept.delivered, kept.failure, kept.cancelled], [1, 0, 0, 1, 1]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a request is owned by the owner its first command records; none for an unknown request', () =>
  withStore(async (store) => {
    const owned = { ...doc('o1', 1), owner: 'key:k1' };
    const foreign = { ...doc('o2', 2), command: { ...doc('o2', 2).command, request_id: 'r-foreign' } };
    await store.commit({
      creates: [
        { doc: owned, audit: created('o1') },
        { doc: foreign, audit: created('o2') },
      ],
      changes: [],
    });
    assert.deepEqual(await store.requestOwner('r'), { owner: 'key:k1' });
    assert.deepEqual(await store.requestOwner('r-foreign'), { owner: null });
    assert.equal(await store.requestOwner('r-none'), null);
  }));

test('group members come in id order, at most `limit` of them when given', () =>
  withStore(async (store) => {
    for (const id of ['m3', 'm1', 'm2']) await store.addAgent({ id, keyHash: 'h', groups: ['g'], createdAt: 0 });
    assert.deepEqual(
      (await store.agentsInGroup('g')).map((m) => m.id),
      ['m1', 'm2', 'm3'],
    );
    assert.deepEqual(
      (await store.agentsInGroup('g', 2)).map((m) => m.id),
      ['m1', 'm2'],
    );
  }));

test('a store failure is reported as one (disk full, unwritable), a refusal of what is written as it is', async () => {
  const { toStoreFailure } = await import('../../src/store/sqlite/failures.js');
  const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.equal((toStoreFailure(sqliteError('SQLITE_FULL', 'database or disk is full')) as { code: string }).code, 'COURIER_ERR_STORE_FULL');
  assert.equal((toStoreFailure(sqliteError('SQLITE_IOERR_WRITE', 'disk I/O error')) as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
  assert.equal((toStoreFailure(sqliteError('SQLITE_READONLY', 'attempt to write a readonly database')) as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
  const tooBig = sqliteError('SQLITE_TOOBIG', 'string or blob too big');
  assert.equal(toStoreFailure(tooBig), tooBig);
  const overflow = new RangeError('Maximum call stack size exceeded');
  assert.equal(toStoreFailure(overflow), overflow);
});
