import type { Scope } from '../../domain/scope.js';
import { errors } from '../../errors.js';
import type { CommandFilter } from '../operator-store.js';

/** The pieces of the operators' OpenSearch queries (filters by agent, scope, time) and their paging cursors. */
export type Clause = Record<string, unknown>;

/** The field names of the same notions in a command document and in an audit record. */
export interface Fields {
  agentId: string;
  groups: string;
  targetType: string;
  targetId: string;
  action: string;
  requestId: string;
}

export const IN_COMMANDS: Fields = {
  agentId: 'agent.id',
  groups: 'agent.groups',
  targetType: 'command.target.type',
  targetId: 'command.target.id',
  action: 'command.action.name',
  requestId: 'command.request_id',
};

export const IN_AUDIT: Fields = {
  agentId: 'command.agent_id',
  groups: 'command.agent_groups',
  targetType: 'command.target_type',
  targetId: 'command.target_id',
  action: 'command.action',
  requestId: 'command.request_id',
};

export const term = (field: string, value: unknown): Clause => ({ term: { [field]: value } });
export const all = (...filter: Clause[]): Clause => ({ bool: { filter } });
export const any = (should: Clause[]): Clause => ({ bool: { should, minimum_should_match: 1 } });
export const NOTHING: Clause = { bool: { must_not: { match_all: {} } } };

/**
 * An agent, by id or id prefix. A document of the Wazuh plugin names its agent only in
 * `command.target` (its `agent` has the groups alone), so both places count.
 */
export function agentClause(f: Fields, id: string, prefix: boolean): Clause {
  const match = (field: string) => (prefix ? { prefix: { [field]: id } } : term(field, id));
  return any([match(f.agentId), all(term(f.targetType, 'agent'), match(f.targetId))]);
}

export function scopeClauses(f: Fields, scope: Scope | undefined): Clause[] {
  if (!scope) return [];
  const clauses: Clause[] = [];
  if (scope.actions.length > 0) clauses.push({ terms: { [f.action]: scope.actions } });
  if (scope.targets.length > 0) {
    clauses.push(
      any(
        scope.targets.map((t) => {
          if (t.type === 'agent') return agentClause(f, t.id, t.prefix);
          if (t.type === 'group') return term(f.groups, t.id);
          return all(term(f.targetType, 'server'), term(f.targetId, t.id));
        }),
      ),
    );
  }
  return clauses;
}

/** Conditions on a command (in either index) from an operator's filter, the key's scope included. */
export function commandClauses(f: Fields, filter: Omit<CommandFilter, 'status' | 'from' | 'to'>): Clause[] {
  const clauses: Clause[] = [];
  if (filter.targetType) clauses.push(term(f.targetType, filter.targetType));
  if (filter.targetId) clauses.push(term(f.targetId, filter.targetId));
  if (filter.action) clauses.push(term(f.action, filter.action));
  if (filter.requestId) clauses.push(term(f.requestId, filter.requestId));
  if (filter.agentId) clauses.push(agentClause(f, filter.agentId, false));
  clauses.push(...scopeClauses(f, filter.scope));
  return clauses;
}

export function timeClause(field: string, from: number | undefined, to: number | undefined): Clause[] {
  if (from === undefined && to === undefined) return [];
  return [{ range: { [field]: { ...(from !== undefined ? { gte: from } : {}), ...(to !== undefined ? { lt: to } : {}) } } }];
}

/** Cursors issued here: the sort values of the last item, as JSON in base64url. */
export function encodeCursor(sort: unknown[] | undefined): string {
  return Buffer.from(JSON.stringify(sort ?? [])).toString('base64url');
}

export const NOT_A_CURSOR = 'Invalid [querystring.cursor]: not a cursor this server issued';

export function decodeCursor(cursor: string | null | undefined, shape: ('number' | 'string')[]): unknown[] | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw errors.VALIDATION.causedBy(error, NOT_A_CURSOR);
  }
  if (Array.isArray(values) && values.length === shape.length && values.every((v, i) => typeof v === shape[i])) return values as unknown[];
  throw errors.VALIDATION(NOT_A_CURSOR);
}

export function numericCursor(cursor: string | null | undefined): number | null {
  if (cursor === null || cursor === undefined) return null;
  if (!/^[0-9]{1,19}$/.test(cursor)) throw errors.VALIDATION(NOT_A_CURSOR);
  return Number(cursor);
}
