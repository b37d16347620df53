import type { ParseArgsConfig } from 'node:util';

/** Command-line filter flags and the query parameters of the list routes they become. */
export const COMMAND_FILTERS = {
  status: 'status',
  agent: 'agent',
  'target-type': 'target_type',
  'target-id': 'target_id',
  action: 'action',
  request: 'request_id',
  from: 'from',
  to: 'to',
} as const;

export const AUDIT_FILTERS = { ...COMMAND_FILTERS, actor: 'actor', node: 'node', kind: 'kind' } as const;

export function filterOptions(filters: Record<string, string>): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(Object.keys(filters).map((flag) => [flag, { type: 'string' as const }]));
}

/** The query string for the given parsed flag values. */
export function filterQuery(filters: Record<string, string>, values: Record<string, unknown>): URLSearchParams {
  const query = new URLSearchParams();
  for (const [flag, name] of Object.entries(filters)) {
    const value = values[flag];
    if (typeof value === 'string') query.set(name, value);
  }
  return query;
}
