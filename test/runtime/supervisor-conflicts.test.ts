/**
 * The supervisor on a store shared with other writers: it writes every change on the condition
 * that the command is still at the version it last read or wrote, re-reads on a conflict, never
 * lets a read regress a command it is writing, and re-applies what a producer or agent asked for
 * to the stored state. The store here is an in-memory model of optimistic concurrency (what the
 * OpenSearch store does with if_seq_no/if_primary_term), so each race is set up exactly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { CommandDocument, CommandState, CommandStatus, CommandView } from '../../src/domain/command.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import type { AgentRecord, AuditEvent, CommandStore, WriteBatch, WriteOutcome } from '../../src/store/store.js';
import { eventually } from '../support/courier-harness.js';

/** Stored commands with a version each; a change applies only on the version its writer last adopted. */
class SharedStore implements CommandStore {
  readonly kind = 'opensearch' as const;
  readonly stored = new Map<string, { state: CommandState; version: number }>();
  /** Per command, the version this node's next change is conditioned on. */
  private readonly basis = new Map<string, number>();
  /** While set, commits wait for it (a write in flight). */
  hold: Promise<void> | null = null;
  conflicts = 0;

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  adopted(state: CommandState): void {
    if (state.version !== undefined) this.basis.set(state.doc.document_id, Number(state.version));
  }

  /** Another node or an operator changes a command. */
  otherWriter(id: string, change: Partial<CommandState>): void {
    const current = this.stored.get(id)!;
    this.stored.set(id, { state: { ...current.state, ...change }, version: current.version + 1 });
  }

  async commit(batch: WriteBatch): Promise<WriteOutcome> {
    await this.hold;
    const created = batch.creates.map(({ doc }) => {
      if (this.stored.has(doc.document_id)) return false;
      this.stored.set(doc.document_id, { state: { doc, status: 'pending', result: null, deliveredAt: null, executionDeadline: null, attempts: 0, claim: null }, version: 1 });
      this.basis.set(doc.document_id, 1);
      return true;
    });
    const changes = batch.changes.map((c) => {
      const current = this.stored.get(c.document_id);
      if (!current || this.basis.get(c.document_id) !== current.version) {
        this.conflicts++;
        return 'conflict' as const;
      }
      const state: CommandState = { ...current.state, status: c.status, result: c.result, deliveredAt: c.deliveredAt, executionDeadline: c.executionDeadline, attempts: c.attempts, claim: c.claim };
      this.stored.set(c.document_id, { state, version: current.version + 1 });
      this.basis.set(c.document_id, current.version + 1);
      return 'ok' as const;
    });
    return { created, changes };
  }

  async getCommand(id: string): Promise<CommandState | null> {
    const current = this.stored.get(id);
    return current ? { ...current.state, version: String(current.version) } : null;
  }

  statusOf(id: string): CommandStatus {
    return this.stored.get(id)!.state.status;
  }

  async history(): Promise<AuditEvent[]> {
    return [];
  }
  async loadUnfinished(): Promise<CommandState[]> {
    return [];
  }
  async maxSeq(): Promise<number> {
    return 0;
  }
  async countByStatus(): Promise<Record<CommandStatus, number>> {
    throw new Error('not used');
  }
  async addAgent(): Promise<boolean> {
    return true;
  }
  async getAgent(): Promise<AgentRecord | null> {
    return null;
  }
  async removeAgent(): Promise<boolean> {
    return true;
  }
  async agentGroups(ids: string[]): Promise<Map<string, string[]>> {
    return new Map(ids.map((id) => [id, []]));
  }
  async agentsInGroup(): Promise<{ id: string; groups: string[] }[]> {
    return [];
  }
}

function setup() {
  const store = new SharedStore();
  const clock = { t: Date.parse('2025-03-01T10:00:00Z'), now() { return this.t; } };
  const supervisor = new Supervisor({
    store,
    clock,
    logger: pino({ level: 'silent' }),
    node: 'node-a',
    executionTimeoutMs: 600_000,
    maxCommandsPerDelivery: 100,
    maxWriteBatch: 100,
    claimLeaseMs: 2000,
  });
  const send = async (agent: string) => {
    const [view] = await supervisor.submit([{ source: 'test', target: { type: 'agent', id: agent }, action: { name: 'restart', args: {}, version: '5.0.0' }, timeout: 100 }], 'user:t');
    return view!.document_id;
  };
  /** A long-poll of an agent: resolves with what it is pushed. */
  const poll = (agent: string) =>
    new Promise<CommandView[]>((resolve) => {
      const sub = supervisor.subscribe(`agent:${agent}`, 'long-poll', `agent:${agent}`, {
        push: (commands) => {
          resolve(commands);
          supervisor.confirm(sub, commands.map((c) => c.document_id));
        },
        drain: () => resolve([]),
      }, 60_000);
    });
  return { store, clock, supervisor, send, poll };
}

describe('supervisor on a store shared with other writers', () => {
  test('a result reported for a command another node moved on is recorded on the stored state', async () => {
    const { store, supervisor, send } = setup();
    await supervisor.start();
    const id = await send('a1');
    // Another node delivered it; this node has not seen that yet (its view: pending).
    store.otherWriter(id, { status: 'delivered', attempts: 1, deliveredAt: 1, executionDeadline: Date.parse('2025-03-01T11:00:00Z') });
    const [outcome] = await supervisor.reportResults([{ document_id: id, code: 0, message: 'done' }], 'agent:a1', 'agent:a1');
    assert.equal(outcome!.outcome, 'recorded');
    assert.equal(store.statusOf(id), 'success');
    assert.deepEqual(store.stored.get(id)!.state.result, { code: 0, message: 'done' });
    assert.ok(store.conflicts >= 1);
    await supervisor.stop();
  });

  test('a cancel that conflicts with an unrelated change is applied to the stored state', async () => {
    const { store, supervisor, send } = setup();
    await supervisor.start();
    const id = await send('a2');
    store.otherWriter(id, { attempts: 1 }); // still pending, a newer version
    const view = await supervisor.cancel(id, 'operator:t');
    assert.equal(view.status, 'cancelled');
    assert.equal(store.statusOf(id), 'cancelled');
    await supervisor.stop();
  });

  test('while its own write of a command is in flight, the node does not take an older stored state', async () => {
    const { store, supervisor, send, poll } = setup();
    await supervisor.start();
    const id = await send('a3');
    assert.deepEqual((await poll('a3')).map((c) => c.document_id), [id]);
    await eventually(() => (store.statusOf(id) === 'delivered' ? true : undefined), 'delivered');
    let release!: () => void;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    const reported = supervisor.reportResults([{ document_id: id, code: 0, message: 'ok' }], 'agent:a3', 'agent:a3');
    // A read from before the result (say, the poller's) arrives while the result is being written.
    supervisor.observe([{ ...(await store.getCommand(id))!, status: 'pending', version: '99' }]);
    assert.equal((await supervisor.get(id))!.status, 'success');
    release();
    store.hold = null;
    assert.equal((await reported)[0]!.outcome, 'recorded');
    assert.equal(store.statusOf(id), 'success');
    await supervisor.stop();
  });

  test('a claim lost to another node is taken as stored; once its lease lapses, this node delivers', async () => {
    const { store, clock, supervisor, send, poll } = setup();
    await supervisor.start();
    const id = await send('a4');
    // Another node claims it first; this node's claim for its own subscriber then conflicts.
    store.otherWriter(id, { status: 'sent', attempts: 1, claim: { node: 'node-b', until: clock.t + 2000 } });
    assert.deepEqual(await poll('a4'), [], 'the long-poll is answered without the command it lost');
    await eventually(async () => ((await supervisor.get(id))!.status === 'sent' ? true : undefined), 'the stored claim taken');
    assert.equal(store.stored.get(id)!.state.claim!.node, 'node-b');
    // Node b dies. The lease lapses; the poller's re-scan hands the command over again.
    clock.t += 2001;
    const next = poll('a4');
    supervisor.observe([(await store.getCommand(id))!]);
    assert.deepEqual((await next).map((c) => c.document_id), [id]);
    await eventually(() => (store.statusOf(id) === 'delivered' ? true : undefined), 'delivered here');
    assert.equal(store.stored.get(id)!.state.attempts, 2);
    await supervisor.stop();
  });
});
