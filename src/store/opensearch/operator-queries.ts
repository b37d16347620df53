import type { Client } from '@opensearch-project/opensearch';
import type { Scope } from '../../domain/scope.js';
import { isUnrestricted } from '../../domain/scope.js';
import type { CommandState } from '../../domain/command.js';
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
import { storedFromJobStatus, storedFromStatus, storedJobStatus, storedStatus } from '../stored-status.js';
import { toRecord, type AgentSource } from './agent-directory.js';
import { indexCheckpoint } from './checkpoint.js';
import { stateFromSource, type AuditSource, type CommandSource } from './command-source.js';
import { countsOf, STATUS_COUNTS_AGGS, statusIn } from './status-query.js';
import { auditCommandFields } from './audit-command-fields.js';
import { isStatus, toCourierError } from './failures.js';
import type { IndexNames } from './indices.js';
import { IN_AUDIT, IN_COMMANDS, NOTHING, all, any, commandClauses, decodeCursor, encodeCursor, numericCursor, term, timeClause, type Clause } from './operator-query-clauses.js';
import { searchAll, searchComplete, type Hit } from './search.js';
import { listRequests } from './request-list.js';

interface ApiKeySource {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
  /** Absent from keys made before keys could expire. */
  expires_at?: number | null;
  last_used_at?: number | null;
}

function auditEntry(hit: Hit<AuditSource>): AuditEntry {
  const s = hit._source;
  const common = { id: String(hit._seq_no + 1), at: s.at, node: s.node, actor: s.actor };
  if (s.kind === 'job') {
    return {
      kind: 'job',
      document_id: null,
      job_id: s.job_id ?? '',
      from: storedFromJobStatus(s.from, `audit record ${common.id}`),
      to: storedJobStatus(s.to, `audit record ${common.id}`),
      cause: s.cause,
      ...(s.detail !== undefined ? { detail: s.detail } : {}),
      ...common,
    };
  }
  if (s.kind === 'key') {
    return { kind: 'key', document_id: null, key_id: s.key_id ?? '', cause: s.cause as KeyAuditRecord['cause'], detail: s.detail ?? '', ...common };
  }
  if (s.kind === 'membership') {
    return {
      kind: 'membership',
      document_id: s.document_id,
      agent_id: s.agent_id ?? '',
      groups: s.groups ?? [],
      previous_groups: s.previous_groups ?? [],
      cause: s.cause as MembershipRecord['cause'],
      ...common,
    };
  }
  return s.kind === 'refusal'
    ? { kind: 'refusal', cause: 'refused', document_id: s.document_id, detail: s.detail ?? '', ...common }
    : {
        kind: 'transition',
        document_id: s.document_id!,
        from: storedFromStatus(s.from, `audit record ${common.id}`),
        to: storedStatus(s.to, `audit record ${common.id}`),
        cause: s.cause,
        ...common,
      };
}

/** A key's document is updated by scripts from several nodes (its last use, its revocation): each tries again on a conflict. */
const RETRIES_ON_CONFLICT = 10;

function keyRecord(s: ApiKeySource): ApiKeyRecord {
  return {
    id: s.id,
    name: s.name,
    role: s.role,
    scopes: s.scopes,
    keyHash: s.key_hash,
    createdAt: s.created_at,
    revokedAt: s.revoked_at ?? null,
    expiresAt: s.expires_at ?? null,
    lastUsedAt: s.last_used_at ?? null,
  };
}

/**
 * The operators' queries on the OpenSearch store: command lists and fan-out summaries from
 * `wazuh-commands`, the audit trail from `courier-audit` (its records carry their command's
 * filterable fields, so no join is needed), agents from `wazuh-agents`, API keys in
 * `courier-api-keys`. Every list is read after a refresh, so it includes what was written before
 * the call.
 */
export class OpenSearchOperatorQueries implements OperatorStore {
  constructor(
    private readonly client: Client,
    private readonly names: IndexNames,
    private readonly getCommand: (id: string) => Promise<CommandState | null>,
    private readonly now: () => number,
  ) {}

  async listCommands(filter: CommandFilter, page: Page): Promise<PageOf<CommandState>> {
    const clauses = [...commandClauses(IN_COMMANDS, filter), ...timeClause('@timestamp', filter.from, filter.to)];
    if (filter.status) clauses.push(statusIn(filter.status));
    const hits = await this.page<CommandSource>(this.names.commands, all(...clauses), page, [{ '@timestamp': 'desc' }, { _seq_no: 'desc' }]);
    const now = this.now();
    const items = hits.flatMap((h) => stateFromSource(h._id, h._source, { seqNo: h._seq_no, primaryTerm: h._primary_term }, now) ?? []);
    return { items, next: hits.length === page.limit ? encodeCursor(hits.at(-1)!.sort) : null };
  }

  async requestSummary(requestId: string, page: Page, scope?: Scope): Promise<RequestSummary | null> {
    const request = commandClauses(IN_COMMANDS, { requestId, scope });
    let summary: ReturnType<typeof countsOf>;
    try {
      await this.client.indices.refresh({ index: this.names.commands });
      const res = await searchComplete(this.client, this.names.commands, { size: 0, query: all(...request), aggs: STATUS_COUNTS_AGGS });
      summary = countsOf(res.aggregations);
    } catch (error) {
      throw toCourierError(error);
    }
    const { counts, total } = summary;
    if (total === 0) return null;
    const hits = await this.page<CommandSource>(
      this.names.commands,
      { bool: { filter: request, must_not: statusIn(['success']) } },
      page,
      [{ '@timestamp': 'asc' }, { _seq_no: 'asc' }],
      false,
    );
    const now = this.now();
    const items = hits.flatMap((h) => {
      const state = stateFromSource(h._id, h._source, { seqNo: h._seq_no, primaryTerm: h._primary_term }, now);
      return state ? [{ document_id: h._id, agent_id: state.doc.agent.id, status: state.status, result: state.result }] : [];
    });
    return {
      request_id: requestId,
      total,
      counts,
      not_succeeded: { items, next: hits.length === page.limit ? encodeCursor(hits.at(-1)!.sort) : null },
    };
  }

  async queryAudit(filter: AuditFilter, page: Page, order: AuditOrder = 'asc'): Promise<PageOf<AuditEntry>> {
    const { status, actor, node, kind, from, to, scope, ...commandFilter } = filter;
    const clauses: Clause[] = [...timeClause('at', from, to)];
    if (status) clauses.push({ terms: { to: status } });
    if (actor) clauses.push(term('actor', actor));
    if (node) clauses.push(term('node', node));
    if (kind) clauses.push(term('kind', kind));
    // Refusals carry no command fields: a filter on commands (or a restricting scope) leaves them out.
    const restricting = scope && !isUnrestricted(scope) ? scope : undefined;
    clauses.push(...commandClauses(IN_AUDIT, { ...commandFilter, scope: restricting }));
    const after = numericCursor(page.cursor);
    try {
      // Ids are `_seq_no` + 1, and only records up to the checkpoint are listed: one written
      // concurrently with a smaller `_seq_no` can then never appear behind a reader's cursor.
      const { checkpoint } = await indexCheckpoint(this.client, this.names.audit);
      await this.client.indices.refresh({ index: this.names.audit });
      // Past the cursor (an id, `_seq_no` + 1): after it oldest first, before it newest first. (One
      // upper bound: a range's `lt` and `lte` are the same bound, the last one given wins.)
      const upper = after !== null && order === 'desc' ? Math.min(after - 2, checkpoint) : checkpoint;
      clauses.push({ range: { _seq_no: { ...(after !== null && order === 'asc' ? { gte: after } : {}), lte: upper } } });
      const res = await searchComplete<AuditSource>(this.client, this.names.audit, {
        query: all(...clauses),
        sort: [{ _seq_no: order }],
        size: page.limit,
      });
      const items = res.hits.hits.map(auditEntry);
      return { items, next: items.length === page.limit ? items.at(-1)!.id : null };
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async recordRefusal(record: RefusalRecord): Promise<void> {
    const command = record.document_id ? await this.getCommand(record.document_id).catch(() => null) : null;
    const source: AuditSource = {
      kind: 'refusal',
      document_id: record.document_id,
      cause: 'refused',
      at: record.at,
      node: record.node,
      actor: record.actor,
      detail: record.detail,
      ...(command ? { command: auditCommandFields(command.doc) } : {}),
    };
    try {
      await this.client.index({ index: this.names.audit, body: source });
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async latestAuditId(): Promise<string> {
    try {
      return String((await indexCheckpoint(this.client, this.names.audit)).checkpoint + 1);
    } catch (error) {
      throw toCourierError(error);
    }
  }

  listRequests(filter: RequestFilter, page: Page): Promise<PageOf<RequestListItem>> {
    return listRequests(this.client, this.names.commands, filter, page);
  }

  async listAgents(page: Page, scope?: Scope, filter: AgentFilter = {}): Promise<PageOf<AgentRecord>> {
    const clauses: Clause[] = [];
    if (filter.group !== undefined) clauses.push(term('agent.groups', filter.group));
    if (filter.prefix !== undefined) clauses.push(any([{ prefix: { 'agent.id': filter.prefix } }, { prefix: { 'agent.name': filter.prefix } }]));
    if (scope && scope.targets.length > 0) {
      const inScope = scope.targets.flatMap((t) => {
        if (t.type === 'agent') return [t.prefix ? { prefix: { 'agent.id': t.id } } : term('agent.id', t.id)];
        if (t.type === 'group') return [term('agent.groups', t.id)];
        return []; // server targets name no agent
      });
      clauses.push(inScope.length > 0 ? any(inScope) : NOTHING);
    }
    const after = page.cursor ? [page.cursor] : undefined;
    try {
      await this.client.indices.refresh({ index: this.names.agents });
      const res = await searchComplete<AgentSource>(this.client, this.names.agents, {
        query: all(...clauses),
        sort: [{ 'agent.id': 'asc' }],
        size: page.limit,
        ...(after ? { search_after: after } : {}),
      });
      const items = res.hits.hits.map(({ _source: s }) => toRecord(s));
      return { items, next: items.length === page.limit ? items.at(-1)!.id : null };
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async addApiKey(record: ApiKeyRecord, audit: KeyAuditRecord): Promise<void> {
    const source: ApiKeySource = {
      id: record.id,
      name: record.name,
      role: record.role,
      scopes: record.scopes,
      key_hash: record.keyHash,
      created_at: record.createdAt,
      revoked_at: record.revokedAt,
      expires_at: record.expiresAt,
      last_used_at: record.lastUsedAt,
    };
    try {
      await this.client.index({ index: this.names.apiKeys, id: record.id, op_type: 'create', body: source });
    } catch (error) {
      throw toCourierError(error);
    }
    // Two documents, two writes: the key is written first, so that no record tells of a key that is
    // not there. Should the record fail, the answer fails too: the key's secret was never shown.
    await this.auditKey(audit);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    try {
      const res = await this.client.get({ index: this.names.apiKeys, id });
      return keyRecord((res.body as unknown as { _source: ApiKeySource })._source);
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw toCourierError(error);
    }
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const keys: ApiKeyRecord[] = [];
    try {
      await this.client.indices.refresh({ index: this.names.apiKeys });
      const pages = searchAll<ApiKeySource>(this.client, this.names.apiKeys, { match_all: {} }, 1000, [{ created_at: 'asc' }, { id: 'asc' }]);
      for await (const hits of pages) keys.push(...hits.map((h) => keyRecord(h._source)));
    } catch (error) {
      throw toCourierError(error);
    }
    return keys;
  }

  async revokeApiKey(id: string, at: number, audit: KeyAuditRecord): Promise<boolean> {
    let revoked: boolean;
    try {
      const res = await this.client.update({
        index: this.names.apiKeys,
        id,
        // Nodes write a key's last use concurrently: a revocation between a read and a write is tried again.
        retry_on_conflict: RETRIES_ON_CONFLICT,
        body: {
          script: {
            lang: 'painless',
            // Revoked once: a second revocation changes nothing and reports false.
            source: 'if (ctx._source.revoked_at == null) { ctx._source.revoked_at = params.at } else { ctx.op = "noop" }',
            params: { at },
          },
        },
      });
      revoked = (res.body as unknown as { result: string }).result === 'updated';
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw toCourierError(error);
    }
    if (revoked) await this.auditKey(audit);
    return revoked;
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    try {
      await this.client.update({
        index: this.names.apiKeys,
        id,
        retry_on_conflict: RETRIES_ON_CONFLICT,
        body: {
          script: {
            lang: 'painless',
            // The latest use wins, whichever node writes last.
            source: 'if (ctx._source.last_used_at == null || ctx._source.last_used_at < params.at) { ctx._source.last_used_at = params.at } else { ctx.op = "noop" }',
            params: { at },
          },
        },
      });
    } catch (error) {
      if (isStatus(error, 404)) return;
      throw toCourierError(error);
    }
  }

  private async auditKey(record: KeyAuditRecord): Promise<void> {
    const source: AuditSource = { kind: 'key', document_id: null, ...record };
    try {
      await this.client.index({ index: this.names.audit, body: source });
    } catch (error) {
      throw toCourierError(error);
    }
  }

  /** One page of a list, by `search_after` on `sort` (whose last key is unique); read after a refresh. */
  private async page<T>(index: string, query: Clause, page: Page, sort: object[], refresh = true): Promise<Hit<T>[]> {
    const after = decodeCursor(
      page.cursor,
      sort.map(() => 'number'),
    );
    try {
      if (refresh) await this.client.indices.refresh({ index });
      const res = await searchComplete<T>(this.client, index, { query, sort, size: page.limit, ...(after ? { search_after: after } : {}) });
      return res.hits.hits;
    } catch (error) {
      throw toCourierError(error);
    }
  }
}
