import { Type, type Static } from 'typebox';
import { TARGET_TYPES } from '../domain/command.js';
import { ID_RULES } from '../http/schemas.js';
import type { RequestFilter, RequestListItem } from '../store/operator-store.js';
import { CommandListQuery, CommandPage } from './schemas.js';

// `GET /api/v1/requests`: its query string (the list's conventions: strings, nothing coerced) and answer.

const listed = CommandListQuery.properties;

export const RequestListQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ ...ID_RULES, description: 'Only the commands of this action count' })),
    target_type: Type.Optional(Type.Enum(TARGET_TYPES, { description: 'Only the commands sent to this type of target count' })),
    target_id: Type.Optional(Type.String({ ...ID_RULES, description: 'Only the commands sent to this target (an agent, a group, a component) count' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601: requests created (their first command) at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601: requests created before' })),
    limit: listed.limit,
    cursor: listed.cursor,
  },
  { additionalProperties: false },
);

export function toRequestFilter(query: Static<typeof RequestListQuery>): RequestFilter {
  return {
    action: query.action,
    targetType: query.target_type,
    targetId: query.target_id,
    from: query.from ? Date.parse(query.from) : undefined,
    to: query.to ? Date.parse(query.to) : undefined,
  };
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, description: string) => Type.Union([schema, Type.Null()], { description });

export const RequestListItemBody = Type.Object({
  request_id: Type.String(),
  created_at: Type.String({ format: 'date-time', description: 'When its first command (of those counted) was created' }),
  total: Type.Integer({ description: 'Its commands the key may see (and the filters select)' }),
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'How many of them are in each status (every status, 0 included)' }),
  action: Nullable(Type.String(), 'The action of all of them; null when they differ'),
  target_type: Nullable(Type.Enum(TARGET_TYPES), 'The type of target of all of them; null when they differ'),
  target_id: Nullable(Type.String(), 'The target all of them were sent to (one agent, group or component); null when they differ'),
  source: Nullable(Type.String(), 'Who asked (the source of its first command)'),
  user: Nullable(Type.String(), 'The user its first command names, if any'),
});
export const RequestPage = Type.Object({ items: Type.Array(RequestListItemBody), next: CommandPage.properties.next });

/** A request as the list answers it: times in ISO 8601. */
export function requestView(item: RequestListItem) {
  return { ...item, created_at: new Date(item.created_at).toISOString() };
}
