import type { CommandDocument, CommandResult, CommandState, CommandStatus, TargetType } from '../../domain/command.js';
import { ACTION_ARGS_LIMITS, jsonLimitProblem, RESULT_DATA_LIMITS } from '../../domain/json-limits.js';
import { agentRoute, INITIAL_STATUS, isCommandStatus, serverRoute, TARGET_TYPES } from '../../domain/command.js';
import type { StatusChange } from '../store.js';
import type { TransitionRecord } from '../records.js';
import type { JobStatus } from '../../domain/job.js';
import { isDateMillis, readDate } from './dates.js';
import { formatVersion, type BookEntry, type DocVersion } from './version-book.js';
import { auditCommandFields, type AuditCommandFields } from './audit-command-fields.js';

/**
 * A `wazuh-commands` document as stored. Documents written by courier have every field; those
 * written by others (the Wazuh indexer plugin, an operator's plain `index` call) may lack
 * courier's fields and even some of Wazuh's, so everything is optional here and derived on read.
 */
export interface CommandSource {
  '@timestamp'?: string | number;
  delivery_timestamp?: string | number;
  agent?: { id?: string | null; groups?: string[] | string | null };
  command?: {
    source?: string;
    user?: string;
    /** `{type, id}`; early plugin versions wrote the id here and the type in `command.type`. */
    target?: { type?: string; id?: string } | string;
    type?: string;
    action?: { name?: string; args?: Record<string, unknown> | null; version?: string };
    timeout?: number;
    /** Wazuh scripts have written it as an array, and as `failed` instead of `failure`. */
    status?: string | string[];
    result?: { code?: number; message?: string; data?: unknown } | null;
    request_id?: string;
    order_id?: string;
  };
  courier?: {
    route?: string;
    seq?: number;
    owner?: string;
    job?: { id?: string; step?: number; attempt?: number };
    delivered_at?: number | string | null;
    execution_deadline?: number | string | null;
    attempts?: number;
    claim?: { node?: string; until?: number | string } | null;
    updated_at?: number | string;
    /** Courier's own status; `command.status` holds Wazuh's word for it (see `WAZUH_STATUS`). */
    status?: string;
  };
}

/**
 * What courier writes into `command.status`: the word Wazuh's own readers know (the indexer
 * plugin's enum: `PENDING`, `SENT`, `SUCCESS`, `FAILURE`; its expiry job matches `PENDING`).
 * Wazuh has no `delivered`, `timed_out` or `cancelled`: they are `SENT` and `FAILURE`, and
 * courier's own status is in `courier.status`.
 */
export const WAZUH_STATUS: Record<CommandStatus, string> = {
  pending: 'PENDING',
  sent: 'SENT',
  delivered: 'SENT',
  success: 'SUCCESS',
  failure: 'FAILURE',
  timed_out: 'FAILURE',
  cancelled: 'FAILURE',
};

const DEFAULT_TIMEOUT_S = 100; // what Wazuh's helpers always use

/** The full document of a command courier creates. */
export function newCommandSource(doc: CommandDocument, now: number): CommandSource {
  return {
    '@timestamp': doc['@timestamp'],
    delivery_timestamp: doc.delivery_timestamp,
    agent: { id: doc.agent.id, groups: doc.agent.groups },
    command: { ...doc.command, status: WAZUH_STATUS[INITIAL_STATUS], result: null },
    courier: {
      status: INITIAL_STATUS,
      route: doc.route,
      seq: doc.seq,
      ...(doc.owner !== undefined ? { owner: doc.owner } : {}),
      ...(doc.job !== undefined ? { job: doc.job } : {}),
      delivered_at: null,
      execution_deadline: null,
      attempts: 0,
      claim: null,
      updated_at: now,
    },
  };
}

/** The partial update of a status change: Wazuh's status and result, and courier's fields. */
export function changeSource(change: StatusChange, entry: BookEntry, resultDataAsText: boolean): CommandSource {
  return {
    command: { status: WAZUH_STATUS[change.status], result: change.result ? resultSource(change.result, resultDataAsText) : null },
    courier: {
      status: change.status,
      route: entry.route,
      seq: entry.seq,
      delivered_at: change.deliveredAt,
      execution_deadline: change.executionDeadline,
      attempts: change.attempts,
      claim: change.claim,
      updated_at: change.audit.at,
    },
  };
}

function resultSource(result: CommandResult, dataAsText: boolean) {
  if (result.data === undefined) return { code: result.code, message: result.message };
  const data = dataAsText && typeof result.data !== 'string' ? JSON.stringify(result.data) : result.data;
  return { code: result.code, message: result.message, data };
}

/**
 * A document of the audit index: a transition of a command or a job, a refused operator request,
 * a change of an agent's groups, or a key made or revoked.
 */
export interface AuditSource {
  kind: 'transition' | 'refusal' | 'job' | 'membership' | 'key';
  document_id: string | null;
  /** A membership change names its agent, its groups after and before. */
  agent_id?: string;
  groups?: string[];
  previous_groups?: string[];
  /** A job's transition names its job (`from` and `to` are then job statuses). */
  job_id?: string;
  /** An operator key made or revoked (`cause`). */
  key_id?: string;
  from?: TransitionRecord['from'] | JobStatus | null;
  to?: TransitionRecord['to'] | JobStatus;
  cause: string;
  at: number;
  node: string;
  actor: string;
  detail?: string;
  order?: number;
  command?: AuditCommandFields;
}

export function auditSource(record: TransitionRecord, order: number, command: AuditCommandFields): AuditSource {
  return { kind: 'transition', ...record, order, command };
}

/** Wazuh's status words (any case; `failed`; an array, of which the last counts) in courier's vocabulary. */
export function normalizeStatus(raw: unknown): CommandStatus | null {
  const value: unknown = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (typeof value !== 'string') return null;
  const word = value.trim().toLowerCase();
  if (word === 'failed') return 'failure';
  return isCommandStatus(word) ? word : null;
}

/**
 * A document's status: courier's own (`courier.status`) while `command.status` still says the same
 * in Wazuh's words; otherwise someone else changed it (the plugin's expiry job wrote `FAILURE` over
 * `PENDING`, a script, an operator), or courier never wrote it: `command.status`, read as courier reads it.
 */
export function statusOf(source: CommandSource): CommandStatus | null {
  const written = normalizeStatus(source.command?.status);
  const own = source.courier?.status;
  if (own !== undefined && isCommandStatus(own) && written !== null && written === normalizeStatus(WAZUH_STATUS[own])) return own;
  return written;
}

/** Has courier ever written this document? (Documents from others have no `courier` object.) */
export function isForeign(source: CommandSource): boolean {
  return source.courier === undefined || source.courier === null;
}

/** A stored document read as a command, or why courier cannot run it (the caller logs the reason). */
export type SourceReading = { state: CommandState; rejected?: undefined } | { state: null; rejected: string };

/** The command of a stored document, or null when courier cannot run it (see `readSource`). */
export function stateFromSource(id: string, source: CommandSource, version: DocVersion, now: number): CommandState | null {
  return readSource(id, source, version, now).state;
}

/**
 * The command a stored document holds, with courier's fields derived where missing: the route
 * from `command.target` (or `agent.id`), the status from `command.status`, the delivery deadline
 * from `delivery_timestamp` (or `@timestamp` + `command.timeout`). Dates may be ISO strings or
 * epoch millis (numbers or numeric strings, as OpenSearch accepts them); the document's are given
 * back as canonical ISO strings, so that `Date.parse` of them is exact. Rejected when it is not a
 * command courier can handle: no `command`, a status it does not know, or a date it cannot read
 * (a deadline that is not a time would never fire).
 */
export function readSource(id: string, source: CommandSource, version: DocVersion, now: number): SourceReading {
  const command = source.command;
  if (!command) return { state: null, rejected: 'no command object' };
  const status = statusOf(source);
  if (status === null) return { state: null, rejected: `unknown command.status ${JSON.stringify(command.status) ?? 'undefined'}` };
  const dates = readDates(source);
  if (typeof dates === 'string') return { state: null, rejected: dates };
  // Written by anyone with access to the index: bounded as the API bounds them, or they could
  // not be sent to an agent (the serializers recurse).
  const tooLarge =
    jsonLimitProblem(command.action?.args ?? {}, ACTION_ARGS_LIMITS, 'command.action.args') ??
    jsonLimitProblem(command.result?.data ?? null, RESULT_DATA_LIMITS, 'command.result.data');
  if (tooLarge) return { state: null, rejected: tooLarge };

  const target = targetOf(command);
  const groups = source.agent?.groups;
  const agentGroups = Array.isArray(groups) ? groups : typeof groups === 'string' ? [groups] : [];
  const agentId = source.agent?.id ?? (target.type === 'agent' ? target.id : null);
  const createdAt = dates['@timestamp'] ?? dates['courier.updated_at'] ?? now;
  const timeout = typeof command.timeout === 'number' ? command.timeout : DEFAULT_TIMEOUT_S;
  const deliveryDeadline = dates.delivery_timestamp ?? createdAt + timeout * 1000;
  if (!isDateMillis(deliveryDeadline)) return { state: null, rejected: `@timestamp + command.timeout (${timeout} s) is not a date` };
  const doc: CommandDocument = {
    document_id: id,
    '@timestamp': new Date(createdAt).toISOString(),
    delivery_timestamp: new Date(deliveryDeadline).toISOString(),
    agent: { id: agentId, groups: agentGroups },
    command: {
      source: command.source ?? '',
      ...(command.user !== undefined ? { user: command.user } : {}),
      target,
      action: { name: command.action?.name ?? '', args: command.action?.args ?? {}, version: command.action?.version ?? '' },
      timeout,
      request_id: command.request_id ?? '',
      order_id: command.order_id ?? '',
    },
    route: source.courier?.route ?? routeOf(target, agentId),
    seq: source.courier?.seq ?? 0,
    ...(source.courier?.owner !== undefined ? { owner: source.courier.owner } : {}),
    ...(jobOf(source) ?? {}),
  };
  const claim = source.courier?.claim;
  const until = dates['courier.claim.until'];
  const state: CommandState = {
    doc,
    status,
    result: resultOf(command.result),
    deliveredAt: dates['courier.delivered_at'],
    executionDeadline: dates['courier.execution_deadline'],
    attempts: source.courier?.attempts ?? 0,
    claim: claim?.node && until !== null ? { node: claim.node, until } : null,
    version: formatVersion(version),
  };
  return { state };
}

type DateFieldName = '@timestamp' | 'delivery_timestamp' | 'courier.updated_at' | 'courier.delivered_at' | 'courier.execution_deadline' | 'courier.claim.until';

/** Every date of a document in ms (null: absent), or why one cannot be read. */
function readDates(source: CommandSource): Record<DateFieldName, number | null> | string {
  const raw: Record<DateFieldName, unknown> = {
    '@timestamp': source['@timestamp'],
    delivery_timestamp: source.delivery_timestamp,
    'courier.updated_at': source.courier?.updated_at,
    'courier.delivered_at': source.courier?.delivered_at,
    'courier.execution_deadline': source.courier?.execution_deadline,
    'courier.claim.until': source.courier?.claim?.until,
  };
  const dates = {} as Record<DateFieldName, number | null>;
  for (const [field, value] of Object.entries(raw) as [DateFieldName, unknown][]) {
    const date = readDate(value);
    if (date.kind === 'invalid') return `${field} is not a date: ${date.raw}`;
    dates[field] = date.kind === 'time' ? date.ms : null;
  }
  return dates;
}

function targetOf(command: NonNullable<CommandSource['command']>): { type: TargetType; id: string } {
  const raw = command.target;
  const type = typeof raw === 'object' && raw !== null ? raw.type : command.type;
  const id = typeof raw === 'object' && raw !== null ? raw.id : raw;
  return { type: (TARGET_TYPES as readonly string[]).includes(type ?? '') ? (type as TargetType) : 'agent', id: id ?? '' };
}

/**
 * Agents and server components are routed as courier routes them. A group document that was not
 * expanded to its agents (the plugin always expands) keeps a route nobody subscribes to, so it
 * times out at its delivery deadline, visibly, instead of being dropped.
 */
function routeOf(target: { type: TargetType; id: string }, agentId: string | null): string {
  if (target.type === 'server') return serverRoute(target.id);
  if (target.type === 'agent') return agentRoute(target.id);
  return agentId ? agentRoute(agentId) : `group:${target.id}`;
}

function resultOf(raw: NonNullable<CommandSource['command']>['result']): CommandResult | null {
  if (!raw || typeof raw.code !== 'number') return null;
  return raw.data === undefined ? { code: raw.code, message: raw.message ?? '' } : { code: raw.code, message: raw.message ?? '', data: raw.data };
}

/** The version-book entry of a command read from the store (or just created). */
export function entryOf(doc: CommandDocument, version: DocVersion): BookEntry {
  return { ...version, route: doc.route, seq: doc.seq, command: auditCommandFields(doc) };
}

/** The job a document names, when it names one fully (courier wrote it). */
function jobOf(source: CommandSource): { job: { id: string; step: number; attempt: number } } | null {
  const job = source.courier?.job;
  if (typeof job?.id !== 'string' || !Number.isInteger(job.step) || !Number.isInteger(job.attempt)) return null;
  return { job: { id: job.id, step: job.step!, attempt: job.attempt! } };
}
