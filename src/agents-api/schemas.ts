import { Type } from 'typebox';
import { AgentName, ID_RULES, Id, NOT_ONLY_WHITESPACE } from '../http/schemas.js';

// The agents' own requests and answers: authentication and enrollment.

export const AuthenticationBody = Type.Object({ uuid: Id, key: Type.String({ minLength: 1, maxLength: 1024, pattern: NOT_ONLY_WHITESPACE }) }, { additionalProperties: false });

export const EnrollBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 1024, pattern: NOT_ONLY_WHITESPACE, description: 'An enrollment token (courier-enroll_…)' }),
    id: Type.Optional(Type.String({ ...ID_RULES, description: 'The agent id to register (default: a new UUID); an id that exists is refused (409)' })),
    name: Type.Optional(AgentName),
    csr: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 16_384,
        description: 'A PKCS#10 certificate signing request (PEM): with mutual TLS, courier answers with a client certificate for its key, naming the agent',
      }),
    ),
  },
  { additionalProperties: false },
);

/** An enrolled agent: its id and its key (shown here once), then `POST /api/v1/authentication` as usual. */
export const EnrolledAgent = Type.Object({
  id: Type.String(),
  key: Type.String(),
  groups: Type.Array(Type.String()),
  certificate: Type.Optional(Type.String({ description: 'With a `csr`: the client certificate (PEM, then its CA), for mutual TLS' })),
});
