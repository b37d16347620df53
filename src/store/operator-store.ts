import type { Scope } from '../domain/scope.js';
import type { CommandResult, CommandState, CommandStatus, TargetType } from '../domain/command.js';
import type { AgentRecord, MembershipRecord, TransitionRecord } from './records.js';
import type { JobTransitionRecord } from '../domain/job.js';

/**
 * What the operators' side (management API, audit, keys) needs from a store, beside the
 * runtime's `CommandStore`. Lists are keyset-paginated: `next` is an opaque cursor, null at the end.
 */
export interface Page {
  limit: number;
  cursor?: string | null | undefined;
}

export interface PageOf<T> {
  items: T[];
  next: string | null;
}

export interface CommandFilter {
  status?: CommandStatus[] | undefined;
  targetType?: TargetType | undefined;
  targetId?: string | undefined;
  action?: string | undefined;
  requestId?: string | undefined;
  agentId?: string | undefined;
  /** Created at or after (ms). */
  from?: number | undefined;
  /** Created before (ms). */
  to?: number | undefined;
  /** Only commands inside this scope (a scoped key's view). */
  scope?: Scope | undefined;
}

export interface AuditFilter extends Omit<CommandFilter, 'status'> {
  /** Transitions into these statuses. */
  status?: CommandStatus[] | undefined;
  actor?: string | undefined;
  node?: string | undefined;
  kind?: AuditEntry['kind'] | undefined;
}

/** A refused operator request: who, what, why. */
export interface RefusalRecord {
  document_id: string | null;
  at: number;
  node: string;
  actor: string;
  /** e.g. `POST /api/v1/commands: outside the key's scope (group:windows)` */
  detail: string;
}

/** One line of the audit trail, in the order it was written (`id` grows). */
export type AuditEntry =
  | ({ kind: 'transition'; id: string } & TransitionRecord)
  | ({ kind: 'refusal'; id: string; cause: 'refused' } & RefusalRecord)
  | ({ kind: 'job'; id: string; document_id: null } & JobTransitionRecord)
  | ({ kind: 'membership'; id: string } & MembershipRecord)
  | ({ kind: 'key'; id: string; document_id: null } & KeyAuditRecord);

/** An operator API key made or revoked: who did it (`actor`) and what the key is (`detail`). */
export interface KeyAuditRecord {
  key_id: string;
  cause: 'created' | 'revoked';
  at: number;
  node: string;
  actor: string;
  /** e.g. `operator key alice, scopes group:web, expires 2026-01-01T00:00:00.000Z; by key 0123456789abcdef` */
  detail: string;
}

export interface RequestSummary {
  request_id: string;
  total: number;
  counts: Record<CommandStatus, number>;
  /** The commands of the request not (yet) successful, oldest first, paginated. */
  not_succeeded: PageOf<{ document_id: string; agent_id: string | null; status: CommandStatus; result: CommandResult | null }>;
}

/** Which fan-outs to list: the commands they are made of (and the caller's scope), and when they were created. */
export interface RequestFilter {
  action?: string | undefined;
  targetType?: TargetType | undefined;
  targetId?: string | undefined;
  /** Requests created (their first command) at or after (ms). */
  from?: number | undefined;
  /** Requests created before (ms). */
  to?: number | undefined;
  /** Only commands inside this scope (a scoped key's view). */
  scope?: Scope | undefined;
}

/**
 * A request (the commands one POST created, or added to it later under its id) as a list shows it:
 * only the commands the filter and the scope select count, and `created_at` is the first of those.
 * `action`, `target_type` and `target_id` are null when its commands differ in them.
 */
export interface RequestListItem {
  request_id: string;
  /** ms since the epoch. */
  created_at: number;
  total: number;
  counts: Record<CommandStatus, number>;
  action: string | null;
  target_type: TargetType | null;
  /** The id of the target all of them share (one agent, group or component), else null. */
  target_id: string | null;
  /** Who asked, as its first command says. */
  source: string | null;
  user: string | null;
}

/** Which registered agents to list, beside a key's scope. */
export interface AgentFilter {
  /** Members of this group. */
  group?: string | undefined;
  /** Whose id or name starts with this. */
  prefix?: string | undefined;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  keyHash: string;
  createdAt: number;
  revokedAt: number | null;
  /** From then on the key is refused (null: never). */
  expiresAt: number | null;
  /** When it last authenticated a request, to within a minute or so (see `KeyUseRecorder`); null: never. */
  lastUsedAt: number | null;
}

/** In which order the audit trail is read: `asc`, oldest first, as it was written; `desc`, newest first. */
export type AuditOrder = 'asc' | 'desc';

export interface OperatorStore {
  listCommands(filter: CommandFilter, page: Page): Promise<PageOf<CommandState>>;
  requestSummary(requestId: string, page: Page, scope?: Scope): Promise<RequestSummary | null>;
  /** The trail oldest first (the order it was written), or newest first; the cursor of a page continues in the same order. */
  queryAudit(filter: AuditFilter, page: Page, order?: AuditOrder): Promise<PageOf<AuditEntry>>;
  recordRefusal(record: RefusalRecord): Promise<void>;
  /** The id of the newest audit record ('0' when none): where a live feed that starts now begins. */
  latestAuditId(): Promise<string>;
  /** Fan-outs, newest first (by their first command). */
  listRequests(filter: RequestFilter, page: Page): Promise<PageOf<RequestListItem>>;
  /**
   * Registered agents by id; with a scope, only those inside it. The cursor is the id of the last
   * agent listed: a caller that keeps only some of a page resumes after any agent it kept.
   */
  listAgents(page: Page, scope?: Scope, filter?: AgentFilter): Promise<PageOf<AgentRecord>>;

  /** Stores the key with its audit record (`created`). */
  addApiKey(record: ApiKeyRecord, audit: KeyAuditRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Revokes the key once, with its audit record (`revoked`); false (and nothing written) if unknown or revoked already. */
  revokeApiKey(id: string, at: number, audit: KeyAuditRecord): Promise<boolean>;
  /** Records that the key authenticated a request at `at`; never moves `lastUsedAt` back (nodes write it concurrently). */
  touchApiKey(id: string, at: number): Promise<void>;
}
