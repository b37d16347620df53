import { Type, type Static } from 'typebox';
import { COMMAND_STATUSES, isCommandStatus, TARGET_TYPES } from '../domain/command.js';
import { errors } from '../errors.js';
import { JOB_STATUSES } from '../domain/job.js';
import { CommandResultSchema, CommandView } from '../http/schemas.js';
import type { AuditFilter, CommandFilter, Page } from '../store/operator-store.js';

// The operators' read routes: their query strings (all strings: nothing is coerced) and answers.
// Mounted on the admin socket (admin-api/) and on the management API (management/): they live in
// operator-routes/, which both of them import and which imports neither.

/** A page size, 1 to 1000 (leading zeros allowed): the document says exactly what `toPage` takes. */
export const Limit = Type.String({ pattern: '^0*([1-9][0-9]{0,2}|1000)$' });
const Text = Type.String({ minLength: 1, maxLength: 256 });
const Id = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._:@-]+$' });

/**
 * What an audit record is of: a command's transition, a refused request, a job's transition, a change
 * of an agent's groups, an operator key made or revoked.
 */
const AuditKind = Type.Union([Type.Literal('transition'), Type.Literal('refusal'), Type.Literal('job'), Type.Literal('membership'), Type.Literal('key')]);

const commandFilterFields = {
  status: Type.Optional(Type.String({ pattern: `^(${COMMAND_STATUSES.join('|')})(,(${COMMAND_STATUSES.join('|')}))*$` })),
  target_type: Type.Optional(Type.Enum(TARGET_TYPES)),
  target_id: Type.Optional(Id),
  action: Type.Optional(Id),
  request_id: Type.Optional(Id),
  agent: Type.Optional(Id),
  /** ISO 8601 time: created (or, for audit, recorded) at or after. */
  from: Type.Optional(Type.String({ format: 'date-time' })),
  /** ISO 8601 time: before. */
  to: Type.Optional(Type.String({ format: 'date-time' })),
};
const pageFields = { limit: Type.Optional(Limit), cursor: Type.Optional(Type.String({ maxLength: 64 })) };

export const CommandListQuery = Type.Object({ ...commandFilterFields, ...pageFields }, { additionalProperties: false });
export const AuditQuery = Type.Object(
  {
    ...commandFilterFields,
    ...pageFields,
    actor: Type.Optional(Text),
    node: Type.Optional(Text),
    kind: Type.Optional(AuditKind),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'asc (default): oldest first, as written; desc: newest first' })),
  },
  { additionalProperties: false },
);
export const EventStreamQuery = Type.Object(
  {
    ...commandFilterFields,
    actor: Type.Optional(Text),
    node: Type.Optional(Text),
    kind: AuditQuery.properties.kind,
    last_event_id: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  },
  { additionalProperties: false },
);
export const PageQuery = Type.Object(pageFields, { additionalProperties: false });
export const RequestParams = Type.Object({ request_id: Id });

export function toPage(query: { limit?: string | undefined; cursor?: string | undefined }): Page {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (limit < 1 || limit > 1000) throw errors.VALIDATION('Invalid [querystring.limit]: must be between 1 and 1000');
  return { limit, cursor: query.cursor ?? null };
}

export function toCommandFilter(query: Static<typeof CommandListQuery> | Static<typeof EventStreamQuery>): CommandFilter {
  return {
    status: query.status ? query.status.split(',').filter(isCommandStatus) : undefined,
    targetType: query.target_type,
    targetId: query.target_id,
    action: query.action,
    requestId: query.request_id,
    agentId: query.agent,
    from: query.from ? Date.parse(query.from) : undefined,
    to: query.to ? Date.parse(query.to) : undefined,
  };
}

export function toAuditFilter(query: Static<typeof AuditQuery> | Static<typeof EventStreamQuery>): AuditFilter {
  return { ...toCommandFilter(query), actor: query.actor, node: query.node, kind: query.kind };
}

// ---- responses --------------------------------------------------------------------------

const Next = Type.Union([Type.String(), Type.Null()], { description: 'Cursor of the next page; null at the end' });
const IsoTime = Type.String({ format: 'date-time' });
const Status = Type.Enum(COMMAND_STATUSES);
const JobStatusSchema = Type.Enum(JOB_STATUSES);

export const CommandPage = Type.Object({ items: Type.Array(CommandView), next: Next });

export const RequestSummaryBody = Type.Object({
  request_id: Type.String(),
  total: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer()),
  not_succeeded: Type.Object({
    items: Type.Array(
      Type.Object({
        document_id: Type.String(),
        agent_id: Type.Union([Type.String(), Type.Null()]),
        status: Status,
        result: Type.Union([CommandResultSchema, Type.Null()]),
      }),
    ),
    next: Next,
  }),
});

/**
 * One audit entry: a command's transition (`from`, `to`, `cause`), a refusal (`detail`), a job's
 * transition (`job_id`, `from`, `to`), a change of an agent's groups (`agent_id`, `groups`,
 * `previous_groups`; `cause` set-group with the command as `document_id`, or edited), or an
 * operator key made or revoked (`key_id`, `cause`, `detail`).
 */
export const AuditEntryBody = Type.Object({
  id: Type.String(),
  kind: AuditKind,
  document_id: Type.Union([Type.String(), Type.Null()]),
  job_id: Type.Optional(Type.String()),
  agent_id: Type.Optional(Type.String()),
  groups: Type.Optional(Type.Array(Type.String())),
  previous_groups: Type.Optional(Type.Array(Type.String())),
  key_id: Type.Optional(Type.String({ description: 'kind key: the key made (cause created) or revoked (cause revoked)' })),
  from: Type.Optional(Type.Union([Status, JobStatusSchema, Type.Null()])),
  to: Type.Optional(Type.Union([Status, JobStatusSchema])),
  cause: Type.String(),
  at: IsoTime,
  node: Type.String(),
  actor: Type.String(),
  detail: Type.Optional(Type.String()),
});
export const AuditPage = Type.Object({ items: Type.Array(AuditEntryBody), next: Next });

export const AgentWithConnection = Type.Object({
  id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  groups: Type.Array(Type.String()),
  created_at: IsoTime,
  connection: Type.Union([Type.Literal('websocket'), Type.Literal('long-poll'), Type.Literal('offline')]),
  node: Type.Union([Type.String(), Type.Null()], { description: 'The node it is connected to (on a cluster, another node than this one is read from the cluster), or null' }),
  last_seen: Type.Union([IsoTime, Type.Null()]),
});
export const AgentPage = Type.Object({ items: Type.Array(AgentWithConnection), next: Next });
