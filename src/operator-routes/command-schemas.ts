import { Type, type Static } from 'typebox';
import { INITIAL_STATUS, TARGET_TYPES } from '../domain/command.js';
import { CommandView, Id, IsoTime, StatusSchema } from '../http/schemas.js';

// The command routes' requests and answers (create, read, history, cancel). Mounted on the admin
// socket (admin-api/) and on the management API (management/): they live in operator-routes/, which
// both of them import and which imports neither.

const Name = Type.String({ minLength: 1, maxLength: 256 });

/** What a command (or a job's step) does: the action's name, its arguments, its version. */
export const ActionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    version: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const CommandSpecSchema = Type.Object(
  {
    source: Name,
    user: Type.Optional(Type.String({ maxLength: 256 })),
    target: Type.Object({ type: Type.Enum(TARGET_TYPES), id: Id }, { additionalProperties: false }),
    action: ActionSchema,
    /** Seconds within which the command must be delivered (at most 30 days). */
    timeout: Type.Integer({ minimum: 1, maximum: 2_592_000 }),
    // Set when an external poller pushes commands it already holds (adopted, not duplicated).
    document_id: Type.Optional(Id),
    request_id: Type.Optional(Id),
    order_id: Type.Optional(Id),
    status: Type.Optional(Type.Literal(INITIAL_STATUS)),
  },
  { additionalProperties: false },
);
export type CommandSpecBody = Static<typeof CommandSpecSchema>;

export const SubmitCommandsBody = Type.Object(
  { commands: Type.Array(CommandSpecSchema, { maxItems: 10_000 }) },
  {
    additionalProperties: false,
    examples: [
      {
        commands: [
          { source: 'Users/Services', user: 'alice', target: { type: 'agent', id: 'agent-1' }, action: { name: 'restart', args: {}, version: '5.0.0' }, timeout: 300 },
          { source: 'Users/Services', target: { type: 'group', id: 'linux' }, action: { name: 'set-group', args: { groups: ['linux', 'web'] }, version: '5.0.0' }, timeout: 3600 },
        ],
      },
    ],
  },
);

export const DocumentIdParams = Type.Object({ document_id: Id });

/** A created command as a large answer lists it: enough to follow it, and to retry idempotently. */
export const CommandRef = Type.Object({
  document_id: Type.String(),
  agent_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.String(),
  status: StatusSchema,
});
const createdTotal = Type.Integer({ description: 'How many commands the request made (or found)' });
const createdAbridged = Type.Boolean({ description: 'true: `commands` lists references (id, agent, request, status), not whole documents' });
/** What a create answers: every command it made (or found, on a retry), in the order asked. */
export const CreatedCommandsBody = Type.Object({
  commands: Type.Union([Type.Array(CommandView), Type.Array(CommandRef)]),
  total: createdTotal,
  abridged: createdAbridged,
});
/** The same answer with whole documents, the branch a create answers with unless it is large. */
export const CreatedDocumentsBody = Type.Object({ commands: Type.Array(CommandView), total: createdTotal, abridged: createdAbridged });

/** RFC draft "The Idempotency-Key HTTP Header Field": an opaque key the producer makes per request. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' })),
});

export const HistoryBody = Type.Object({
  events: Type.Array(
    Type.Object({
      from: Type.Union([StatusSchema, Type.Null()]),
      to: StatusSchema,
      cause: Type.String(),
      at: IsoTime,
      node: Type.String(),
      actor: Type.String(),
    }),
  ),
});
