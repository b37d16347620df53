import { Type } from 'typebox';

// The management API's Wazuh-style agent shortcuts (`PUT /api/v1/agents/restart`, `/agents/group`).

export const AgentsListQuery = Type.Object({ agents_list: Type.Optional(Type.String({ maxLength: 100_000 })) }, { additionalProperties: false });
export const SetGroupQuery = Type.Object(
  { agents_list: Type.String({ minLength: 1, maxLength: 100_000 }), group_id: Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._:@-]+$' }) },
  { additionalProperties: false },
);

/** The Wazuh API's answer shape for the agent shortcuts. */
export const ShortcutBody = Type.Object({
  data: Type.Object({
    affected_items: Type.Array(Type.Union([Type.String(), Type.Null()])),
    total_affected_items: Type.Integer(),
    failed_items: Type.Array(Type.Object({ id: Type.String(), error: Type.Object({ code: Type.String(), message: Type.String() }) })),
    total_failed_items: Type.Integer(),
    commands: Type.Array(Type.Object({ agent_id: Type.Union([Type.String(), Type.Null()]), document_id: Type.String() })),
    request_id: Type.Union([Type.String(), Type.Null()]),
  }),
  message: Type.String(),
  error: Type.Integer(),
});
