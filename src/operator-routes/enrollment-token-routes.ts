import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import type { EnrollmentTokenRecord } from '../store/enrollment-token-store.js';
import type { HttpApp } from '../http/app.js';
import { AgentGroups, errorResponses, NoQuery } from '../http/schemas.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

const tags = ['enrollment'];

const CreateTokenBody = Type.Object(
  {
    groups: Type.Optional(AgentGroups),
    expires_in: Type.Optional(
      Type.String({
        maxLength: 32,
        pattern: '^(never|[0-9]+(\\.[0-9]+)?(ms|s|m|h)?)$',
        description: 'How long the token enrolls agents: e.g. 30m, 24h, 720h (at most 8760h), or "never" (until revoked). Default 24h',
      }),
    ),
    max_uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'How many agents it may enroll (default: no limit)' })),
  },
  { additionalProperties: false },
);
const TokenIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });
const IsoTime = Type.String({ format: 'date-time' });
const TokenView = Type.Object({
  id: Type.String(),
  groups: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('exhausted'), Type.Literal('revoked')]),
  expires_at: Type.Union([IsoTime, Type.Null()]),
  max_uses: Type.Union([Type.Integer(), Type.Null()]),
  uses: Type.Integer(),
  created_at: IsoTime,
  created_by: Type.String(),
  revoked: Type.Boolean(),
  revoked_at: Type.Union([IsoTime, Type.Null()]),
});
const CreatedToken = Type.Object({ ...TokenView.properties, token: Type.String({ description: 'The token itself: shown only here, once' }) });

/**
 * Who may do what with enrollment tokens. The admin socket trusts its (0660) callers; the
 * management API needs an admin key, and a key scoped to groups reaches only tokens of its groups.
 */
export interface EnrollmentTokenPolicy {
  /** Checks the caller may make a token for these groups; returns who it is (the token's `created_by`). */
  creator(request: FastifyRequest, groups: string[]): Promise<string>;
  /** Whether the caller may see this token. */
  sees(request: FastifyRequest, token: EnrollmentTokenRecord): boolean;
  /** Checks the caller may revoke the token with this id (null: no such token). */
  revoker(request: FastifyRequest, id: string, token: EnrollmentTokenRecord | null): Promise<string>;
}

export const trustedTokenPolicy: EnrollmentTokenPolicy = {
  creator: async () => 'admin-socket',
  sees: () => true,
  revoker: async () => 'admin-socket',
};

/**
 * Enrollment tokens: made (the token shown once), listed (never their secrets) and revoked. On the
 * admin socket the callers are trusted; on the management API a policy checks the key.
 */
export function registerEnrollmentTokenRoutes(app: HttpApp, tokens: EnrollmentTokens, { policy = trustedTokenPolicy }: { policy?: EnrollmentTokenPolicy } = {}): void {
  const config = { permission: 'enrollment:admin' as const };

  app.post(
    '/api/v1/enrollment-tokens',
    {
      schema: {
        tags,
        summary: 'Create an agent enrollment token (shown once): agents that present it are registered in its groups',
        body: CreateTokenBody,
        querystring: NoQuery,
        response: { 201: CreatedToken, ...errorResponses },
      },
      config,
    },
    async (request, reply) => {
      const groups = request.body.groups ?? [];
      const createdBy = await policy.creator(request, groups);
      const created = await tokens.create({ groups, expiresIn: request.body.expires_in, maxUses: request.body.max_uses, createdBy });
      request.log.info({ token: created.id, groups, expires_at: created.expires_at, max_uses: created.max_uses, by: createdBy }, 'enrollment token created');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/v1/enrollment-tokens',
    {
      schema: {
        tags,
        summary: 'List enrollment tokens, with their uses and status (never their secrets)',
        querystring: NoQuery,
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }), ...errorResponses },
      },
      config,
    },
    async (request) => ({ tokens: await tokens.list((token) => policy.sees(request, token)) }),
  );

  app.delete(
    '/api/v1/enrollment-tokens/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an enrollment token: it enrolls no one from now on (agents it enrolled stay registered)',
        params: TokenIdParams,
        querystring: NoQuery,
        response: { 200: Type.Object({ id: Type.String(), revoked: Type.Boolean() }), ...errorResponses },
      },
      config,
    },
    async (request) => {
      const { id } = request.params;
      const by = await policy.revoker(request, id, await tokens.find(id));
      await tokens.revoke(id);
      request.log.info({ token: id, by }, 'enrollment token revoked');
      return { id, revoked: true };
    },
  );
}
