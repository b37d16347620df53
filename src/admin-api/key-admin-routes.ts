import { Type } from 'typebox';
import type { ApiKeys } from '../auth/api-keys.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses, NoQuery } from '../http/schemas.js';

const tags = ['keys'];

const CreateKeyBody = Type.Object(
  {
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('auditor')]),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@-]+$' })),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });
const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  scopes: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const CreatedKey = Type.Object({ ...KeyView.properties, key: Type.String({ description: 'The key itself: shown only here, once' }) });

/** Operator API keys are made, listed and revoked on the admin socket only (the key is shown once). */
export function registerKeyAdminRoutes(app: HttpApp, keys: ApiKeys): void {
  app.post(
    '/api/v1/keys',
    { schema: { tags, summary: 'Create an operator API key (shown once)', body: CreateKeyBody, querystring: NoQuery, response: { 201: CreatedKey, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await keys.create(request.body.role, request.body.scopes ?? [], request.body.name)),
  );
  app.get(
    '/api/v1/keys',
    {
      schema: {
        tags,
        summary: 'List operator API keys (never their secrets)',
        querystring: NoQuery,
        response: { 200: Type.Object({ items: Type.Array(KeyView) }), ...errorResponses },
      },
    },
    async () => ({
      items: await keys.list(),
    }),
  );
  app.delete(
    '/api/v1/keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an operator API key',
        params: KeyIdParams,
        querystring: NoQuery,
        response: { 200: Type.Object({ id: Type.String(), revoked: Type.Boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      await keys.revoke(request.params.id);
      return { id: request.params.id, revoked: true };
    },
  );
}
