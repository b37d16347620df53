import Database from 'better-sqlite3';
import type { CommandState, CommandStatus } from '../../domain/command.js';
import { INITIAL_STATUS, zeroCountsByStatus } from '../../domain/command.js';
import type { AuditEvent, CommandStore, WriteBatch, WriteOutcome } from '../store.js';
import type { AgentRecord, MembershipChange } from '../records.js';
import { MIGRATIONS, UNFINISHED_CONDITION } from './schema.js';
import { storedFromStatus, storedStatus } from '../stored-status.js';
import { toStoreFailure } from './failures.js';
import { ensurePrivateFile, tightenIfPresent } from '../../data-dir.js';
import { errors } from '../../errors.js';
import { agentRecord, rowToState, type AgentRow, type CommandRow } from './rows.js';
import { membershipWrites } from './membership-writes.js';
import { SqliteOperatorQueries } from './sqlite-operator-queries.js';
import type { OperatorStore } from '../operator-store.js';
import type { EnrollmentTokenStore } from '../enrollment-token-store.js';
import { SqliteJobs } from './sqlite-jobs.js';
import type { JobStore } from '../job-store.js';
import { SqliteEnrollmentTokens } from './sqlite-enrollment-tokens.js';
import { SqliteWriter } from './sqlite-writer.js';

export interface SqliteStoreOptions {
  /** Path of the database file. */
  file: string;
  /** `normal` survives a process crash (kill -9); `full` also survives power loss, at a cost per commit. */
  synchronous: 'normal' | 'full';
}

interface AuditRow {
  id: number;
  document_id: string;
  from_status: string | null;
  to_status: string;
  cause: string;
  at: number;
  node: string;
  actor: string;
}

/**
 * The embedded store: one SQLite file in WAL mode; every batch of command writes is one transaction,
 * committed on the store's writer thread (sqlite-writer.ts).
 */
export class SqliteStore implements CommandStore {
  readonly kind = 'sqlite' as const;
  readonly operators: OperatorStore;
  readonly enrollmentTokens: EnrollmentTokenStore;
  readonly jobs: JobStore;
  private readonly db: Database.Database;
  /** Commits the command writes on a thread of its own; this connection reads (and writes the rest). */
  private readonly writer: SqliteWriter;
  private readonly stmt;
  /** Sets an agent's groups and audits it, on this connection (see membership-writes.ts). */
  private readonly writeMembership: ReturnType<typeof membershipWrites>;
  /** Commands per status, once first asked for (see countByStatus). */
  private counts: Record<CommandStatus, number> | null = null;

  constructor(options: SqliteStoreOptions) {
    try {
      // 0600 before SQLite opens it; the -wal and -shm files SQLite creates take the same mode.
      ensurePrivateFile(options.file);
      for (const suffix of ['-wal', '-shm']) tightenIfPresent(options.file + suffix);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') throw errors.STORE_READ_ONLY.causedBy(error, options.file, (error as Error).message);
      throw error;
    }
    this.db = new Database(options.file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous.toUpperCase()}`);
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.assertWritable(options.file);
      this.migrate();
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.writer = new SqliteWriter({ file: options.file, synchronous: options.synchronous });
    this.operators = new SqliteOperatorQueries(this.db);
    const db = this.db;
    this.stmt = {
      getCommand: db.prepare(`SELECT doc, status, result, delivered_at, execution_deadline, attempts FROM commands WHERE document_id = ?`),
      history: db.prepare(`SELECT * FROM audit WHERE seq = (SELECT seq FROM commands WHERE document_id = ?) AND kind = 'transition' ORDER BY id`),
      // INDEXED BY: the planner would rather search the status index and sort; the partial index
      // is already in seq order, and SQLite refuses to prepare this if its condition stops matching.
      unfinished: db.prepare(
        `SELECT doc, status, result, delivered_at, execution_deadline, attempts FROM commands INDEXED BY commands_unfinished
         WHERE ${UNFINISHED_CONDITION} ORDER BY seq`,
      ),
      maxSeq: db.prepare(`SELECT COALESCE(MAX(seq), 0) AS max FROM commands`),
      countByStatus: db.prepare(`SELECT status, COUNT(*) AS n FROM commands GROUP BY status`),
      insertAgent: db.prepare(`INSERT OR IGNORE INTO agents (id, key_hash, groups, created_at, name) VALUES (@id, @keyHash, @groups, @createdAt, @name)`),
      insertAgentGroup: db.prepare(`INSERT OR IGNORE INTO agent_groups (group_name, agent_id) VALUES (?, ?)`),
      agentGroups: db.prepare(`SELECT id, groups FROM agents WHERE id IN (SELECT value FROM json_each(?))`),
      getAgent: db.prepare(`SELECT id, key_hash, groups, created_at, name FROM agents WHERE id = ?`),
      probe: db.prepare(`INSERT INTO store_probe (node, at) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET at = excluded.at`),
      getAgents: db.prepare(`SELECT id, key_hash, groups, created_at, name FROM agents WHERE id IN (SELECT value FROM json_each(?))`),
      removeAgent: db.prepare(`DELETE FROM agents WHERE id = ?`),
      agentsInGroup: db.prepare(
        `SELECT a.id, a.groups FROM agent_groups g JOIN agents a ON a.id = g.agent_id
         WHERE g.group_name = ? ORDER BY a.id LIMIT ?`,
      ),
      requestOwner: db.prepare(`SELECT json_extract(doc, '$.owner') AS owner FROM commands WHERE request_id = ? ORDER BY seq LIMIT 1`),
    };
    this.enrollmentTokens = new SqliteEnrollmentTokens(db, this.insertAgent);
    this.jobs = new SqliteJobs(db);
    this.writeMembership = membershipWrites(db);
  }

  /**
   * SQLite opens a file it cannot write read-only, without a word, and then refuses every write:
   * a real write now (the schema version, rewritten as it is) says so at start, naming the file.
   */
  private assertWritable(file: string): void {
    try {
      this.db.pragma(`user_version = ${this.db.pragma('user_version', { simple: true }) as number}`);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/^SQLITE_(READONLY|CANTOPEN|PERM|IOERR)/.test(code)) throw errors.STORE_READ_ONLY.causedBy(error, file, (error as Error).message);
      throw error;
    }
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {
    await this.writer.close();
    if (this.db.open) this.db.close();
  }

  async commit(batch: WriteBatch): Promise<WriteOutcome> {
    let outcome: WriteOutcome;
    try {
      outcome = await this.writer.commit(batch);
    } catch (error) {
      throw toStoreFailure(error);
    }
    if (this.counts) {
      for (const created of outcome.created) if (created) this.counts[INITIAL_STATUS]++;
      for (const change of batch.changes) {
        if (change.audit.from) this.counts[change.audit.from]--;
        this.counts[change.status]++;
      }
    }
    return outcome;
  }

  async getCommand(documentId: string): Promise<CommandState | null> {
    const row = this.stmt.getCommand.get(documentId) as CommandRow | undefined;
    return row ? rowToState(row) : null;
  }

  async history(documentId: string): Promise<AuditEvent[]> {
    return (this.stmt.history.all(documentId) as AuditRow[]).map(rowToAudit);
  }

  async loadUnfinished(): Promise<CommandState[]> {
    return (this.stmt.unfinished.all() as CommandRow[]).map(rowToState);
  }

  async maxSeq(): Promise<number> {
    return (this.stmt.maxSeq.get() as { max: number }).max;
  }

  /**
   * Counted once, then kept up to date by every commit (this process is the only writer of its data
   * directory): a GROUP BY over millions of rows on every /metrics scrape would stall the event loop
   * for a tenth of a second and more.
   */
  async countByStatus(): Promise<Record<CommandStatus, number>> {
    if (!this.counts) {
      const counts = zeroCountsByStatus();
      for (const row of this.stmt.countByStatus.all() as { status: string; n: number }[]) counts[storedStatus(row.status, 'the commands table')] = row.n;
      this.counts = counts;
    }
    return { ...this.counts };
  }

  /** Inserts an agent and its group memberships (in the caller's transaction, if any); false when its id is taken. */
  private readonly insertAgent = (agent: AgentRecord): boolean =>
    this.db.transaction(() => {
      const added = this.stmt.insertAgent.run({ ...agent, groups: JSON.stringify(agent.groups), name: agent.name ?? null }).changes === 1;
      if (added) for (const group of agent.groups) this.stmt.insertAgentGroup.run(group, agent.id);
      return added;
    })();

  async addAgent(agent: AgentRecord): Promise<boolean> {
    return this.insertAgent(agent);
  }

  async replaceAgent(agent: AgentRecord): Promise<boolean> {
    // One transaction: the id is never briefly free for an enrollment to take.
    return this.db.transaction(() => {
      const replaced = this.stmt.removeAgent.run(agent.id).changes === 1;
      this.insertAgent(agent);
      return replaced;
    })();
  }

  async setAgentGroups(change: MembershipChange): Promise<AgentRecord | null> {
    // IMMEDIATE: it reads the agent before it writes. Begun as a read, its snapshot would be stale once
    // the writer thread commits meanwhile, and SQLite refuses the write at once ("database is locked")
    // instead of waiting its busy timeout.
    return this.db.transaction(() => this.writeMembership(change, null)).immediate();
  }

  async getAgent(id: string): Promise<AgentRecord | null> {
    const row = this.stmt.getAgent.get(id) as AgentRow | undefined;
    return row ? agentRecord(row) : null;
  }

  async probeWrite(node: string, at: number): Promise<void> {
    try {
      this.stmt.probe.run(node, at);
    } catch (error) {
      throw toStoreFailure(error);
    }
  }

  async getAgents(ids: string[]): Promise<Map<string, AgentRecord>> {
    const rows = this.stmt.getAgents.all(JSON.stringify(ids)) as AgentRow[];
    return new Map(rows.map((row) => [row.id, agentRecord(row)]));
  }

  async removeAgent(id: string): Promise<boolean> {
    return this.stmt.removeAgent.run(id).changes === 1;
  }

  async agentGroups(ids: string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    // One prepared statement for any number of ids: they travel as one JSON array parameter.
    const rows = this.stmt.agentGroups.all(JSON.stringify(ids)) as { id: string; groups: string }[];
    for (const row of rows) found.set(row.id, JSON.parse(row.groups) as string[]);
    return found;
  }

  async requestOwner(requestId: string): Promise<{ owner: string | null } | null> {
    const row = this.stmt.requestOwner.get(requestId) as { owner: string | null } | undefined;
    return row ? { owner: row.owner } : null;
  }

  async agentsInGroup(group: string, limit = -1): Promise<{ id: string; groups: string[] }[]> {
    const rows = this.stmt.agentsInGroup.all(group, limit) as { id: string; groups: string }[];
    return rows.map((r) => ({ id: r.id, groups: JSON.parse(r.groups) as string[] }));
  }
}

function rowToAudit(row: AuditRow): AuditEvent {
  return {
    id: String(row.id),
    document_id: row.document_id,
    from: storedFromStatus(row.from_status, `audit record ${row.id}`),
    to: storedStatus(row.to_status, `audit record ${row.id}`),
    cause: row.cause,
    at: row.at,
    node: row.node,
    actor: row.actor,
  };
}
