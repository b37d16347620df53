import { Type } from 'typebox';
import { COMMAND_STATUSES, MAX_ID_LENGTH, TARGET_TYPES } from '../domain/command.js';
import { MAX_RESULTS_PER_REPORT } from '../domain/json-limits.js';
import { MAX_AGENT_GROUPS } from '../domain/agent-groups.js';

/** Request and response schemas shared by the APIs (agents API, admin socket, management API). */

export const StatusSchema = Type.Enum(COMMAND_STATUSES);

/** The same limits bind the JSON and the NDJSON result routes (and the WebSocket's `results` frame). */
export { MAX_RESULTS_PER_REPORT };
export const MAX_RESULT_MESSAGE_LENGTH = 65_536;
export { MAX_ID_LENGTH };

/** A secret of only spaces is no secret (and an easy one to send by mistake). */
export const NOT_ONLY_WHITESPACE = '\\S';
export const ID_RULES = { minLength: 1, maxLength: MAX_ID_LENGTH, pattern: '^[A-Za-z0-9._:@-]+$' };
export const Id = Type.String(ID_RULES);

/** Routes that take no query parameters refuse unknown ones (400) instead of ignoring them. */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** A long-poll's query: `ack`, the commands the client read from its previous answer. */
export const LongPollQuery = Type.Object(
  {
    ack: Type.Optional(
      Type.String({
        maxLength: 256 * 1024,
        description:
          'Comma-separated document_ids of the previous answer that the client read, possibly empty. Present, the client acknowledges: the commands of its answers stay `sent` until its next poll names them (-> delivered); those not named are sent again. Absent (a Wazuh agent): an answer written out counts as delivered.',
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A result code is a signed 64-bit integer (the widest exit or status code an agent reports);
 * JSON numbers past that range cannot be stored as one.
 */
const RESULT_CODE_RANGE = { minimum: -(2 ** 63), maximum: 2 ** 63 - 1 };
export function isResultCode(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= RESULT_CODE_RANGE.minimum && (value as number) <= RESULT_CODE_RANGE.maximum;
}

/** One result report; code 0 means success, any other code failure. */
export const ResultFields = {
  document_id: Id,
  code: Type.Integer(RESULT_CODE_RANGE),
  message: Type.String({ maxLength: MAX_RESULT_MESSAGE_LENGTH }),
  data: Type.Optional(Type.Unknown()),
};
export const ResultSchema = Type.Object(ResultFields, { additionalProperties: false });
export const ResultsBody = Type.Object({ results: Type.Array(ResultSchema, { minItems: 1, maxItems: MAX_RESULTS_PER_REPORT }) }, { additionalProperties: false });

/** A name shown beside an agent's id (e.g. its host name): printable, no control characters. */
export const AgentName = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1F\\x7F]+$' });
export const AgentGroups = Type.Array(Id, { maxItems: MAX_AGENT_GROUPS, uniqueItems: true });
/** An agent's groups, set as a whole; a name given twice counts once. */
export const SetAgentGroupsBody = Type.Object(
  { groups: Type.Array(Id, { maxItems: MAX_AGENT_GROUPS, description: 'Every group the agent is to be in (none: in no group); repeats count once' }) },
  { additionalProperties: false, examples: [{ groups: ['linux', 'web'] }] },
);

export const RegisterAgentBody = Type.Object(
  {
    id: Id,
    key: Type.Optional(Type.String({ minLength: 16, maxLength: 1024, pattern: NOT_ONLY_WHITESPACE })),
    groups: Type.Optional(AgentGroups),
    name: Type.Optional(AgentName),
    replace: Type.Optional(Type.Boolean({ description: 'Register it again if the id exists: its old key and tokens stop working, its connections are closed' })),
  },
  { additionalProperties: false },
);
export const AgentIdParams = Type.Object({ id: Id });

// ---- responses --------------------------------------------------------------------------

/** Every error: a stable `code` (the Wazuh 408 keeps its numeric code) and a message. */
export const ErrorBody = Type.Object({
  message: Type.String(),
  code: Type.Union([Type.String(), Type.Integer()]),
  // COURIER_ERR_STORE_OUTCOME_UNKNOWN: the commands courier assigned, which may or may not be stored.
  request_id: Type.Optional(Type.String()),
  document_ids: Type.Optional(Type.Array(Type.String())),
});
export const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

export const IsoTime = Type.String({ format: 'date-time' });
export const CommandResultSchema = Type.Object({ code: Type.Integer(), message: Type.String(), data: Type.Optional(Type.Unknown()) });

/** A command as producers, operators and agents see it (the Wazuh fields plus its status). */
export const CommandView = Type.Object({
  document_id: Type.String(),
  '@timestamp': IsoTime,
  delivery_timestamp: IsoTime,
  agent: Type.Object({ id: Type.Union([Type.String(), Type.Null()]), groups: Type.Array(Type.String()) }),
  source: Type.String(),
  user: Type.Optional(Type.String()),
  target: Type.Object({ type: Type.Enum(TARGET_TYPES), id: Type.String() }),
  action: Type.Object({ name: Type.String(), args: Type.Record(Type.String(), Type.Unknown()), version: Type.String() }),
  timeout: Type.Integer(),
  request_id: Type.String(),
  order_id: Type.String(),
  job_id: Type.Optional(Type.String({ description: 'The job that made it' })),
  step: Type.Optional(Type.Integer({ minimum: 0, description: "The job's step it is (from 0)" })),
  attempt: Type.Optional(Type.Integer({ minimum: 1, description: 'Which attempt of that step on its target (from 1)' })),
  status: StatusSchema,
  result: Type.Optional(CommandResultSchema),
});
export const CommandsBody = Type.Object({ commands: Type.Array(CommandView) });

export const ResultOutcomesBody = Type.Object({
  results: Type.Array(
    Type.Object({
      document_id: Type.String(),
      outcome: Type.Union([Type.Literal('recorded'), Type.Literal('ignored')]),
      status: StatusSchema,
      message: Type.String(),
    }),
  ),
});

export const AgentView = Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]), groups: Type.Array(Type.String()), created_at: IsoTime });
/** A registration: the generated key is shown here once. */
export const RegisteredAgent = Type.Object({
  ...AgentView.properties,
  key: Type.Optional(Type.String()),
  replaced: Type.Optional(Type.Boolean({ description: 'With `replace`: whether an earlier registration was replaced' })),
});
export const RemovedAgent = Type.Object({ id: Type.String(), removed: Type.Boolean() });
