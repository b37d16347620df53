/**
 * The supervisor given what a store may hand it on a bad day: a command whose times are not
 * times (a document another tool wrote, read by a store that let it through), and a batch that
 * the store wrote only in part (OpenSearch `_bulk` is not a transaction). The store is an
 * in-memory fake, so that each case is set up exactly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandDocument, CommandState } from '../../src/domain/command.js';
import { errors } from '../../src/errors.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import type { StatusChange, WriteBatch, WriteOutcome } from '../../src/store/store.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { CommandStoreStub } from '../support/command-store-stub.js';
import { eventually } from '../support/courier-harness.js';
import { pollOnce } from '../support/poll-once.js';

class MemoryStore extends CommandStoreStub {
  readonly stored = new Map<string, CommandState>();
  readonly changes: StatusChange[] = [];
  /** What `loadUnfinished` returns. */
  unfinished: CommandState[] = [];
  /** Creates of these ids are not written, while the rest of their batch is. */
  readonly refuse = new Set<string>();

  async commit(batch: WriteBatch): Promise<WriteOutcome> {
    const failed = { creates: new Map<number, unknown>(), changes: new Map<number, unknown>() };
    const created = batch.creates.map(({ doc }, i) => {
      if (this.refuse.has(doc.document_id)) {
        failed.creates.set(i, errors.STORE_REJECTED(`create ${doc.document_id}: HTTP 400 mapper_parsing_exception`));
        return false;
      }
      if (this.stored.has(doc.document_id)) return false;
      this.stored.set(doc.document_id, { doc, status: 'pending', result: null, deliveredAt: null, executionDeadline: null, attempts: 0 });
      return true;
    });
    for (const change of batch.changes) {
      this.changes.push(change);
      const current = this.stored.get(change.document_id);
      if (current) this.stored.set(change.document_id, { ...current, status: change.status, attempts: change.attempts });
    }
    return { created, changes: batch.changes.map(() => 'ok' as const), failed };
  }

  async getCommand(id: string): Promise<CommandState | null> {
    return this.stored.get(id) ?? null;
  }
  override async loadUnfinished(): Promise<CommandState[]> {
    return this.unfinished;
  }
}

function setup() {
  const store = new MemoryStore();
  const { logger, records } = capturingLogger();
  const supervisor = new Supervisor({
    store,
    clock: { now: () => Date.now() },
    logger,
    node: 'node-a',
    executionTimeoutMs: 600_000,
    maxCommandsPerDelivery: 100,
    maxCommandsPerRequest: 50_000,
    maxWriteBatch: 100,
    claimLeaseMs: 60_000,
  });
  return { store, supervisor, records };
}

function pendingDoc(id: string, at: string, deadline: string): CommandState {
  const doc: CommandDocument = {
    document_id: id,
    '@timestamp': at,
    delivery_timestamp: deadline,
    agent: { id: 'agent-1', groups: [] },
    command: {
      source: 'test',
      target: { type: 'agent', id: 'agent-1' },
      action: { name: 'restart', args: {}, version: '5.0.0' },
      timeout: 1,
      request_id: 'req',
      order_id: `ord-${id}`,
    },
    route: 'agent:agent-1',
    seq: 0,
  };
  return { doc, status: 'pending', result: null, deliveredAt: null, executionDeadline: null, attempts: 0, version: '1:1' };
}

const spec = (agent: string, documentId?: string) => ({
  source: 'test',
  target: { type: 'agent' as const, id: agent },
  action: { name: 'restart', args: {}, version: '5.0.0' },
  timeout: 100,
  ...(documentId ? { document_id: documentId } : {}),
});

describe('supervisor: commands whose times are not times', () => {
  test('such a command is left out, and logged; the deadlines of the others still fire', { timeout: 20_000 }, async () => {
    const { store, supervisor, records } = setup();
    const now = Date.now();
    // Epoch millis as a string, where an ISO date is expected: Date.parse gives NaN. Loaded first,
    // so that its deadline would be the first in the queue.
    const bad = pendingDoc('bad-1', new Date(now).toISOString(), String(now + 50));
    const worse = pendingDoc('bad-2', String(now), new Date(now + 50).toISOString());
    const good = pendingDoc('good-1', new Date(now).toISOString(), new Date(now + 100).toISOString());
    store.unfinished = [bad, worse, good];
    for (const state of store.unfinished) store.stored.set(state.doc.document_id, state);
    await supervisor.start();
    try {
      await eventually(() => (store.changes.some((c) => c.document_id === 'good-1' && c.status === 'timed_out') ? true : undefined), 'the good command to time out', 5_000);
      assert.deepEqual(
        store.changes.map((c) => c.document_id),
        ['good-1'],
        'only the good command was changed',
      );
      assert.equal(supervisor.stats().liveCommands, 0, 'a command with unusable times was made live');
      const logged = records.filter((r) => r.msg === 'command not run: its times are unusable');
      assert.deepEqual(logged.map((r) => r.document_id).sort(), ['bad-1', 'bad-2']);
      assert.ok(
        logged.every((r) => r.err.code === 'COURIER_ERR_INVALID_COMMAND_TIME'),
        JSON.stringify(logged),
      );
    } finally {
      await supervisor.stop();
    }
  });
});

describe('supervisor: a batch the store wrote only in part', () => {
  test('the stored commands of a request run and the producer is told which were stored; other requests of the batch are unaffected', async () => {
    const { store, supervisor } = setup();
    store.refuse.add('refused-1');
    await supervisor.start();
    try {
      // Two requests in one tick: one batch.
      const partial = supervisor.submit([spec('agent-1', 'refused-1'), spec('agent-1', 'stored-1')], 'user:t');
      const other = supervisor.submit([spec('agent-2', 'other-1')], 'user:t');
      await assert.rejects(partial, (error: any) => {
        assert.equal(error.code, 'COURIER_ERR_STORE_REJECTED');
        assert.equal(error.statusCode, 500);
        assert.match(error.message, /create refused-1: HTTP 400/);
        assert.match(error.message, /1 of the 2 commands were stored and will run: stored-1/);
        return true;
      });
      assert.deepEqual(
        (await other).map((v) => v.document_id),
        ['other-1'],
      );
      // The stored one is live: it is delivered like any other.
      assert.equal((await supervisor.get('stored-1'))?.status, 'pending');
      assert.equal(await supervisor.get('refused-1'), null);
      const delivered = await pollOnce(supervisor, 'agent-1', 5_000);
      assert.deepEqual(
        delivered.map((c) => c.document_id),
        ['stored-1'],
      );
    } finally {
      await supervisor.stop();
    }
  });
});
