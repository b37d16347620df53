import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ApiKeys, ApiKeyView, KeyActor } from '../auth/api-keys.js';
import { MAX_EXPIRES_IN_S } from '../auth/key-expiry.js';
import type { Role } from '../auth/roles.js';
import type { Scope } from '../domain/scope.js';
import { errors } from '../errors.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses, NoQuery } from '../http/schemas.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

const tags = ['keys'];
const IsoTime = Type.String({ format: 'date-time' });

const CreateKeyBody = Type.Object(
  {
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('auditor')]),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@-]+$' })),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 100 })),
    expires_at: Type.Optional(Type.String({ maxLength: 64, format: 'date-time', description: 'When the key stops working: an ISO 8601 time in the future' })),
    expires_in: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_EXPIRES_IN_S, description: 'Or: seconds from now until the key stops working. Neither: it works until revoked' }),
    ),
  },
  { additionalProperties: false },
);
const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });
const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  scopes: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
  created_at: IsoTime,
  expires_at: Type.Union([IsoTime, Type.Null()], { description: 'null: it never expires' }),
  last_used_at: Type.Union([IsoTime, Type.Null()], { description: 'When it last authenticated a request on the management API (to within a minute); null: never' }),
  revoked_at: Type.Union([IsoTime, Type.Null()]),
});
const CreatedKey = Type.Object({ ...KeyView.properties, key: Type.String({ description: 'The key itself: shown only here, once' }) });

/**
 * Who may do what with operator keys. The admin socket trusts its (0660) callers; the management
 * API needs an admin key, and a key with a scope reaches only keys within its scope.
 */
export interface KeyPolicy {
  /** Checks the caller may make a key of this role and scope; says who it is (the audit record's actor). */
  creator(request: FastifyRequest, key: { role: Role; scope: Scope }): Promise<KeyActor>;
  /** Whether the caller may see this key. */
  sees(request: FastifyRequest, key: ApiKeyView): boolean;
  /** Checks the caller may revoke the key with this id (null: no such key); says who it is. */
  revoker(request: FastifyRequest, id: string, key: ApiKeyView | null): Promise<KeyActor>;
}

const SOCKET: KeyActor = { actor: 'admin-socket', keyId: null };

export const trustedKeyPolicy: KeyPolicy = {
  creator: async () => SOCKET,
  sees: () => true,
  revoker: async () => SOCKET,
};

/**
 * Operator API keys: made (the key shown once), listed and read (never their secrets), revoked. On
 * the admin socket the callers are trusted; on the management API a policy checks the admin key.
 */
export function registerKeyRoutes(app: HttpApp, keys: ApiKeys, { policy = trustedKeyPolicy }: { policy?: KeyPolicy } = {}): void {
  const config = { permission: 'keys:admin' as const };

  app.post(
    '/api/v1/keys',
    {
      schema: {
        tags,
        summary: 'Create an operator API key (shown once); it may expire (expires_at or expires_in, not both)',
        body: CreateKeyBody,
        querystring: NoQuery,
        response: { 201: CreatedKey, ...errorResponses },
      },
      config,
    },
    async (request, reply) => {
      const created = await keys.create(request.body, (key) => policy.creator(request, key));
      request.log.info({ key: created.id, role: created.role, scopes: created.scopes, expires_at: created.expires_at }, 'API key created');
      return reply.code(201).send(created);
    },
  );
  app.get(
    '/api/v1/keys',
    {
      schema: {
        tags,
        summary: 'List operator API keys, with their status, expiry and last use (never their secrets)',
        querystring: NoQuery,
        response: { 200: Type.Object({ items: Type.Array(KeyView) }), ...errorResponses },
      },
      config,
    },
    async (request) => ({ items: (await keys.list()).filter((key) => policy.sees(request, key)) }),
  );
  app.get(
    '/api/v1/keys/:id',
    {
      schema: { tags, summary: 'One operator API key (never its secret)', params: KeyIdParams, querystring: NoQuery, response: { 200: KeyView, ...errorResponses } },
      config,
    },
    async (request) => {
      const key = await keys.find(request.params.id);
      // A key the caller may not see is not found, whether it exists or not.
      if (!key || !policy.sees(request, key)) throw errors.API_KEY_NOT_FOUND(request.params.id);
      return key;
    },
  );
  app.delete(
    '/api/v1/keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an operator API key: refused from now on, its open event streams end',
        params: KeyIdParams,
        querystring: NoQuery,
        response: { 200: Type.Object({ id: Type.String(), revoked: Type.Boolean() }), ...errorResponses },
      },
      config,
    },
    async (request) => {
      const { id } = request.params;
      await keys.revoke(id, (key) => policy.revoker(request, id, key));
      request.log.info({ key: id }, 'API key revoked');
      return { id, revoked: true };
    },
  );
}
