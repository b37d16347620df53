import { Type, type Static } from 'typebox';
import { ID_RULES } from '../http/schemas.js';
import type { AgentFilter } from '../store/operator-store.js';
import { PageQuery } from './schemas.js';

// `GET /api/v1/agents` (management API and admin socket): its query string.

/** `connected`: by long-poll or WebSocket, to this node or (on a cluster) another; or exactly one of those, or `offline`. */
export const CONNECTION_FILTERS = ['connected', 'offline', 'websocket', 'long-poll'] as const;
export type ConnectionFilter = (typeof CONNECTION_FILTERS)[number];

export const AgentListQuery = Type.Object(
  {
    ...PageQuery.properties,
    group: Type.Optional(Type.String({ ...ID_RULES, description: 'Members of this group' })),
    connection: Type.Optional(
      Type.Enum(CONNECTION_FILTERS, {
        description: 'connected (long-poll or websocket, to any node of the cluster), offline, websocket or long-poll: how it is connected right now',
      }),
    ),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Whose id or name starts with this (case-sensitive)' })),
  },
  { additionalProperties: false },
);

export interface AgentListFilter extends AgentFilter {
  connection?: ConnectionFilter | undefined;
}

export function toAgentListFilter(query: Static<typeof AgentListQuery>): AgentListFilter {
  return { group: query.group, prefix: query.q, connection: query.connection };
}
