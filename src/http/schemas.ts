import { Type, type Static } from 'typebox';
import { COMMAND_STATUSES, TARGET_TYPES } from '../domain/command.js';

/** Request and response schemas shared by the admin socket and the agents API. */

const Id = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._:@-]+$' });
const Name = Type.String({ minLength: 1, maxLength: 256 });

export const CommandSpecSchema = Type.Object(
  {
    source: Name,
    user: Type.Optional(Type.String({ maxLength: 256 })),
    target: Type.Object({ type: Type.Union(TARGET_TYPES.map((t) => Type.Literal(t))), id: Id }, { additionalProperties: false }),
    action: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' }),
        args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        version: Type.Optional(Type.String({ maxLength: 64 })),
      },
      { additionalProperties: false },
    ),
    /** Seconds within which the command must be delivered (at most 30 days). */
    timeout: Type.Integer({ minimum: 1, maximum: 2_592_000 }),
    // Set when an external poller pushes commands it already holds (adopted, not duplicated).
    document_id: Type.Optional(Id),
    request_id: Type.Optional(Id),
    order_id: Type.Optional(Id),
    status: Type.Optional(Type.Literal('pending')),
  },
  { additionalProperties: false },
);
export type CommandSpecBody = Static<typeof CommandSpecSchema>;

export const SubmitCommandsBody = Type.Object(
  { commands: Type.Array(CommandSpecSchema, { maxItems: 10_000 }) },
  { additionalProperties: false },
);

export const DocumentIdParams = Type.Object({ document_id: Id });

/** One result report; code 0 means success, any other code failure. */
export const ResultFields = {
  document_id: Id,
  code: Type.Integer(),
  message: Type.String({ maxLength: 65_536 }),
  data: Type.Optional(Type.Unknown()),
};
export const ResultSchema = Type.Object(ResultFields, { additionalProperties: false });
export const ResultsBody = Type.Object(
  { results: Type.Array(ResultSchema, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const RegisterAgentBody = Type.Object(
  {
    id: Id,
    key: Type.Optional(Type.String({ minLength: 16, maxLength: 1024 })),
    groups: Type.Optional(Type.Array(Id, { maxItems: 128, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export const AgentIdParams = Type.Object({ id: Id });

export const AuthenticationBody = Type.Object(
  { uuid: Id, key: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);

export const ComponentPollQuery = Type.Object(
  { target_type: Type.Literal('server'), target_id: Id },
  { additionalProperties: false },
);

export const StatusSchema = Type.Union(COMMAND_STATUSES.map((s) => Type.Literal(s)));
