/**
 * An in-memory model of a store shared with other writers (what the OpenSearch store does with
 * if_seq_no/if_primary_term), for unit tests of the supervisor that set up each race exactly.
 */
import pino from 'pino';
import type { CommandState, CommandStatus } from '../../src/domain/command.js';
import { Supervisor, type SupervisorOptions } from '../../src/runtime/supervisor.js';
import type { WriteBatch, WriteOutcome } from '../../src/store/store.js';
import { CommandStoreStub } from './command-store-stub.js';

/** Stored commands with a version each; a change applies only on the version its writer last adopted. */
export class SharedStore extends CommandStoreStub {
  readonly stored = new Map<string, { state: CommandState; version: number }>();
  /** Per command, the version this node's next change is conditioned on. */
  private readonly basis = new Map<string, number>();
  /** While set, commits wait for it (a write in flight). */
  hold: Promise<void> | null = null;
  conflicts = 0;

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
      const state: CommandState = {
        ...current.state,
        status: c.status,
        result: c.result,
        deliveredAt: c.deliveredAt,
        executionDeadline: c.executionDeadline,
        attempts: c.attempts,
        claim: c.claim,
      };
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
}

/** A supervisor (node `node-a`) on a SharedStore with a settable clock, and a way to send it a command. */
/** `options`: what a test sets beyond the defaults (e.g. the affinity of a node on a cluster). */
export function supervisorOnSharedStore(options: Partial<SupervisorOptions> = {}) {
  const store = new SharedStore();
  const clock = {
    t: Date.parse('2025-03-01T10:00:00Z'),
    now() {
      return this.t;
    },
  };
  const supervisor = new Supervisor({
    store,
    clock,
    logger: pino({ level: 'silent' }),
    node: 'node-a',
    executionTimeoutMs: 600_000,
    maxCommandsPerDelivery: 100,
    maxCommandsPerRequest: 50_000,
    maxWriteBatch: 100,
    claimLeaseMs: 2000,
    ...options,
  });
  /** Sends a restart to an agent; resolves with its document_id once durable. */
  const send = async (agent: string) => {
    const [view] = await supervisor.submit(
      [{ source: 'test', target: { type: 'agent', id: agent }, action: { name: 'restart', args: {}, version: '5.0.0' }, timeout: 100 }],
      'user:t',
    );
    return view!.document_id;
  };
  return { store, clock, supervisor, send };
}
