import type { Scope } from '../../domain/scope.js';
import { errors } from '../../errors.js';
import type { AgentFilter, CommandFilter } from '../operator-store.js';

// The WHERE clauses of the operators' queries on the embedded store, and their paging cursors.

type Params = Record<string, string | number>;

/** A WHERE clause built from conditions, with named parameters. */
export class Where {
  readonly conditions: string[] = [];
  readonly params: Params = {};
  private n = 0;

  param(value: string | number): string {
    const name = `p${this.n++}`;
    this.params[name] = value;
    return `@${name}`;
  }

  add(condition: string): void {
    this.conditions.push(condition);
  }

  in(column: string, values: readonly (string | number)[]): void {
    this.add(values.length === 0 ? '0' : `${column} IN (${values.map((v) => this.param(v)).join(', ')})`);
  }

  toString(): string {
    return this.conditions.length > 0 ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

/** Conditions on the `commands` table (aliased `c`, or `alias`) for a filter, including a key's scope. */
export function commandConditions(where: Where, filter: Omit<CommandFilter, 'status'>, c = 'c'): void {
  if (filter.targetType) where.add(`json_extract(${c}.doc, '$.command.target.type') = ${where.param(filter.targetType)}`);
  if (filter.targetId) where.add(`json_extract(${c}.doc, '$.command.target.id') = ${where.param(filter.targetId)}`);
  if (filter.action) where.add(`${c}.action = ${where.param(filter.action)}`);
  if (filter.requestId) where.add(`${c}.request_id = ${where.param(filter.requestId)}`);
  if (filter.agentId) where.add(`${c}.agent_id = ${where.param(filter.agentId)}`);
  if (filter.from !== undefined) where.add(`${c}.created_at >= ${where.param(filter.from)}`);
  if (filter.to !== undefined) where.add(`${c}.created_at < ${where.param(filter.to)}`);
  if (filter.scope) scopeConditions(where, filter.scope, c);
}

function scopeConditions(where: Where, scope: Scope, c: string): void {
  if (scope.actions.length > 0) where.in(`${c}.action`, scope.actions);
  if (scope.targets.length === 0) return;
  const any = scope.targets.map((t) => {
    if (t.type === 'agent' && t.prefix) return `substr(${c}.agent_id, 1, ${t.id.length}) = ${where.param(t.id)}`;
    if (t.type === 'agent') return `${c}.agent_id = ${where.param(t.id)}`;
    if (t.type === 'group') return `${c}.agent_id IN (SELECT agent_id FROM agent_groups WHERE group_name = ${where.param(t.id)})`;
    return `${c}.route = ${where.param(`server:${t.id}`)}`;
  });
  where.add(`(${any.join(' OR ')})`);
}

/** Cursors this store issues are row numbers; anything else was not issued by it. */
export function numericCursor(cursor: string | null | undefined): number | null {
  if (cursor === null || cursor === undefined) return null;
  if (!/^[0-9]{1,19}$/.test(cursor)) throw errors.VALIDATION('Invalid [querystring.cursor]: not a cursor this server issued');
  return Number(cursor);
}

export const nextCursor = <T>(items: T[], limit: number, key: (item: T) => string | number): string | null =>
  items.length === limit ? String(key(items[items.length - 1]!)) : null;

/** Conditions on the `agents` table (aliased `a`) for an agent list's filter. */
export function agentFilterConditions(where: Where, filter: AgentFilter): void {
  if (filter.group !== undefined) where.add(`a.id IN (SELECT agent_id FROM agent_groups WHERE group_name = ${where.param(filter.group)})`);
  if (filter.prefix !== undefined) {
    const prefix = where.param(filter.prefix);
    where.add(`(substr(a.id, 1, length(${prefix})) = ${prefix} OR substr(a.name, 1, length(${prefix})) = ${prefix})`);
  }
}
