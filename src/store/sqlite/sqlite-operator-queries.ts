import type Database from 'better-sqlite3';
import { isUnrestricted, type Scope } from '../../domain/scope.js';
import { zeroCountsByStatus, type CommandResult } from '../../domain/command.js';
import { storedFromJobStatus, storedFromStatus, storedJobStatus, storedStatus } from '../stored-status.js';
import type {
  AgentFilter,
  ApiKeyRecord,
  AuditEntry,
  KeyAuditRecord,
  AuditFilter,
  AuditOrder,
  CommandFilter,
  OperatorStore,
  Page,
  PageOf,
  RefusalRecord,
  RequestFilter,
  RequestListItem,
  RequestSummary,
} from '../operator-store.js';
import type { AgentRecord, MembershipRecord } from '../records.js';
import { rowToState, type CommandRow } from './rows.js';
import { listRequests } from './sqlite-request-list.js';
import { agentFilterConditions, commandConditions, nextCursor, numericCursor, Where } from './query-conditions.js';

interface AuditRow {
  id: number;
  kind: AuditEntry['kind'];
  document_id: string | null;
  from_status: string | null;
  to_status: string | null;
  cause: string;
  at: number;
  node: string;
  actor: string;
  detail: string | null;
  agent_id: string | null;
  groups: string | null;
  previous_groups: string | null;
}

function rowToEntry(row: AuditRow): AuditEntry {
  const common = { id: String(row.id), at: row.at, node: row.node, actor: row.actor };
  if (row.kind === 'job') {
    return {
      kind: 'job',
      document_id: null,
      job_id: row.document_id!,
      from: storedFromJobStatus(row.from_status, `audit record ${row.id}`),
      to: storedJobStatus(row.to_status, `audit record ${row.id}`),
      cause: row.cause,
      ...(row.detail !== null ? { detail: row.detail } : {}),
      ...common,
    };
  }
  if (row.kind === 'key') {
    return { kind: 'key', document_id: null, key_id: row.document_id!, cause: row.cause as KeyAuditRecord['cause'], detail: row.detail ?? '', ...common };
  }
  if (row.kind === 'membership') {
    return {
      kind: 'membership',
      document_id: row.document_id,
      agent_id: row.agent_id!,
      groups: JSON.parse(row.groups!) as string[],
      previous_groups: JSON.parse(row.previous_groups!) as string[],
      cause: row.cause as MembershipRecord['cause'],
      ...common,
    };
  }
  return row.kind === 'refusal'
    ? { kind: 'refusal', cause: 'refused', document_id: row.document_id, detail: row.detail ?? '', ...common }
    : {
        kind: 'transition',
        document_id: row.document_id!,
        from: storedFromStatus(row.from_status, `audit record ${row.id}`),
        to: storedStatus(row.to_status, `audit record ${row.id}`),
        cause: row.cause,
        ...common,
      };
}

/** The operators' queries on the embedded store. */
export class SqliteOperatorQueries implements OperatorStore {
  /** Statements of fixed text, prepared once (preparing costs more than running a point query). */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  async listCommands(filter: CommandFilter, page: Page): Promise<PageOf<ReturnType<typeof rowToState>>> {
    const where = new Where();
    if (filter.status) where.in('c.status', filter.status);
    commandConditions(where, filter);
    const cursor = numericCursor(page.cursor);
    if (cursor !== null) where.add(`c.seq < ${where.param(cursor)}`);
    const rows = this.db
      .prepare(
        `SELECT c.seq, c.doc, c.status, c.result, c.delivered_at, c.execution_deadline, c.attempts FROM commands c
         ${where} ORDER BY c.seq DESC LIMIT ${page.limit}`,
      )
      .all(where.params) as (CommandRow & { seq: number })[];
    return { items: rows.map(rowToState), next: nextCursor(rows, page.limit, (r) => r.seq) };
  }

  async requestSummary(requestId: string, page: Page, scope?: Scope): Promise<RequestSummary | null> {
    const base = new Where();
    commandConditions(base, { requestId, scope });
    const counts = zeroCountsByStatus();
    let total = 0;
    for (const row of this.db.prepare(`SELECT c.status, COUNT(*) AS n FROM commands c ${base} GROUP BY c.status`).all(base.params) as { status: string; n: number }[]) {
      counts[storedStatus(row.status, `request ${requestId}`)] = row.n;
      total += row.n;
    }
    if (total === 0) return null;

    const where = new Where();
    commandConditions(where, { requestId, scope });
    where.add(`c.status <> 'success'`);
    const cursor = numericCursor(page.cursor);
    if (cursor !== null) where.add(`c.seq > ${where.param(cursor)}`);
    const rows = this.db.prepare(`SELECT c.seq, c.document_id, c.agent_id, c.status, c.result FROM commands c ${where} ORDER BY c.seq LIMIT ${page.limit}`).all(where.params) as {
      seq: number;
      document_id: string;
      agent_id: string | null;
      status: string;
      result: string | null;
    }[];
    return {
      request_id: requestId,
      total,
      counts,
      not_succeeded: {
        items: rows.map((r) => ({
          document_id: r.document_id,
          agent_id: r.agent_id,
          status: storedStatus(r.status, `command ${r.document_id}`),
          result: r.result ? (JSON.parse(r.result) as CommandResult) : null,
        })),
        next: nextCursor(rows, page.limit, (r) => r.seq),
      },
    };
  }

  async queryAudit(filter: AuditFilter, page: Page, order: AuditOrder = 'asc'): Promise<PageOf<AuditEntry>> {
    const where = new Where();
    const { status, actor, node, kind, ...commandFilter } = filter;
    if (status) where.in('a.to_status', status);
    if (actor) where.add(`a.actor = ${where.param(actor)}`);
    if (node) where.add(`a.node = ${where.param(node)}`);
    if (kind) where.add(`a.kind = ${where.param(kind)}`);
    // Time filters apply to the audit record itself; the rest to the command it is about.
    const { from, to, scope, ...rest } = commandFilter;
    if (from !== undefined) where.add(`a.at >= ${where.param(from)}`);
    if (to !== undefined) where.add(`a.at < ${where.param(to)}`);
    // Refusals name no command: only a filter on commands (or a restricting scope) needs the join.
    const restricting = scope && !isUnrestricted(scope) ? scope : undefined;
    const needsCommand = restricting !== undefined || Object.values(rest).some((v) => v !== undefined);
    if (needsCommand) commandConditions(where, { ...rest, scope: restricting });
    const cursor = numericCursor(page.cursor);
    if (cursor !== null) where.add(`a.id ${order === 'asc' ? '>' : '<'} ${where.param(cursor)}`);
    const rows = this.db
      .prepare(
        `SELECT a.* FROM audit a ${needsCommand ? 'JOIN commands c ON c.seq = a.seq' : ''}
         ${where} ORDER BY a.id ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${page.limit}`,
      )
      .all(where.params) as AuditRow[];
    return { items: rows.map(rowToEntry), next: nextCursor(rows, page.limit, (r) => r.id) };
  }

  async recordRefusal(record: RefusalRecord): Promise<void> {
    this.prepared(
      `INSERT INTO audit (kind, document_id, cause, at, node, actor, detail)
         VALUES ('refusal', @document_id, 'refused', @at, @node, @actor, @detail)`,
    ).run(record);
  }

  async latestAuditId(): Promise<string> {
    return String((this.prepared(`SELECT COALESCE(MAX(id), 0) AS id FROM audit`).get() as { id: number }).id);
  }

  async listRequests(filter: RequestFilter, page: Page): Promise<PageOf<RequestListItem>> {
    return listRequests(this.db, filter, page);
  }

  async listAgents(page: Page, scope?: Scope, filter: AgentFilter = {}): Promise<PageOf<AgentRecord>> {
    const where = new Where();
    if (page.cursor) where.add(`a.id > ${where.param(page.cursor)}`);
    agentFilterConditions(where, filter);
    if (scope && scope.targets.length > 0) {
      const any = scope.targets.flatMap((t) => {
        if (t.type === 'agent' && t.prefix) return [`substr(a.id, 1, ${t.id.length}) = ${where.param(t.id)}`];
        if (t.type === 'agent') return [`a.id = ${where.param(t.id)}`];
        if (t.type === 'group') return [`a.id IN (SELECT agent_id FROM agent_groups WHERE group_name = ${where.param(t.id)})`];
        return []; // server targets name no agent
      });
      where.add(any.length > 0 ? `(${any.join(' OR ')})` : '0');
    }
    const rows = this.db.prepare(`SELECT a.id, a.key_hash, a.groups, a.created_at, a.name FROM agents a ${where} ORDER BY a.id LIMIT ${page.limit}`).all(where.params) as {
      id: string;
      key_hash: string;
      groups: string;
      created_at: number;
      name: string | null;
    }[];
    return {
      items: rows.map((r) => ({
        id: r.id,
        keyHash: r.key_hash,
        groups: JSON.parse(r.groups) as string[],
        createdAt: r.created_at,
        ...(r.name !== null ? { name: r.name } : {}),
      })),
      next: nextCursor(rows, page.limit, (r) => r.id),
    };
  }

  async addApiKey(record: ApiKeyRecord, audit: KeyAuditRecord): Promise<void> {
    const insert = this.prepared(
      `INSERT INTO api_keys (id, name, role, scopes, key_hash, created_at, revoked_at, expires_at, last_used_at)
         VALUES (@id, @name, @role, @scopes, @keyHash, @createdAt, @revokedAt, @expiresAt, @lastUsedAt)`,
    );
    this.db.transaction(() => {
      insert.run({ ...record, scopes: JSON.stringify(record.scopes) });
      this.auditKey(audit);
    })();
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.prepared(`SELECT * FROM api_keys WHERE id = ?`).get(id) as ApiKeyRow | undefined;
    return row ? rowToKey(row) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (this.prepared(`SELECT * FROM api_keys ORDER BY created_at, id`).all() as ApiKeyRow[]).map(rowToKey);
  }

  async revokeApiKey(id: string, at: number, audit: KeyAuditRecord): Promise<boolean> {
    const revoke = this.prepared(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`);
    return this.db.transaction(() => {
      if (revoke.run(at, id).changes !== 1) return false;
      this.auditKey(audit);
      return true;
    })();
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    this.prepared(`UPDATE api_keys SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)`).run({ id, at });
  }

  private auditKey(record: KeyAuditRecord): void {
    this.prepared(
      `INSERT INTO audit (kind, document_id, cause, at, node, actor, detail)
         VALUES ('key', @key_id, @cause, @at, @node, @actor, @detail)`,
    ).run(record);
  }
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  scopes: string;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
  expires_at: number | null;
  last_used_at: number | null;
}

function rowToKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    scopes: JSON.parse(row.scopes) as string[],
    keyHash: row.key_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}
