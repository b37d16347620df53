import { Type } from 'typebox';
import { Readable } from 'node:stream';
import { commandView } from '../domain/command.js';
import { errors } from '../errors.js';
import type { HttpApp } from '../http/app.js';
import type { AuditEntry, AuditFilter, AuditOrder, OperatorStore } from '../store/operator-store.js';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Scope } from '../domain/scope.js';
import { errorResponses } from '../http/schemas.js';
import { RequestListQuery, RequestPage, requestView, toRequestFilter } from './request-list-schemas.js';
import { AuditPage, AuditQuery, CommandListQuery, CommandPage, PageQuery, RequestParams, RequestSummaryBody, toAuditFilter, toCommandFilter, toPage } from './schemas.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

/** The scope of what the caller may read: a key's scope, or everything on the admin socket. */
export type ScopeOf = (request: FastifyRequest) => Scope;

/** An audit entry as operators read it: times in ISO 8601. */
export function auditView(entry: AuditEntry) {
  return { ...entry, at: new Date(entry.at).toISOString() };
}

/** Every entry matching `filter`, read a page at a time: an export never holds the whole trail. */
export async function* auditEntries(store: OperatorStore, filter: AuditFilter, order: AuditOrder = 'asc', pageSize = 1000): AsyncGenerator<AuditEntry> {
  let cursor: string | null = null;
  do {
    const page = await store.queryAudit(filter, { limit: pageSize, cursor }, order);
    yield* page.items;
    cursor = page.next;
  } while (cursor);
}

export async function listCommands(store: OperatorStore, query: Static<typeof CommandListQuery>, scope: Scope) {
  const page = await store.listCommands({ ...toCommandFilter(query), scope }, toPage(query));
  return { items: page.items.map(commandView), next: page.next };
}

/**
 * Read routes (management API and admin socket): commands, fan-outs (listed, and one at a time), the audit trail.
 * The admin socket mounts its own `GET /api/v1/commands` (it doubles as the components'
 * long-poll there), so it passes `listRoute: false`.
 */
export function registerQueryRoutes(app: HttpApp, store: OperatorStore, scopeOf: ScopeOf, { listRoute = true } = {}): void {
  if (listRoute)
    app.get(
      '/api/v1/commands',
      {
        schema: {
          tags: ['commands'],
          summary: 'List commands, newest first (filters; cursor pagination)',
          querystring: CommandListQuery,
          response: { 200: CommandPage, ...errorResponses },
        },
        config: { permission: 'commands:read' },
      },
      async (request) => listCommands(store, request.query, scopeOf(request)),
    );

  app.get(
    '/api/v1/requests',
    {
      schema: {
        tags: ['requests'],
        summary: 'Fan-outs, newest first: each with its counts per status, what it was and who asked (filters; cursor pagination)',
        querystring: RequestListQuery,
        response: { 200: RequestPage, ...errorResponses },
      },
      config: { permission: 'commands:read' },
    },
    async (request) => {
      // A scoped key's list counts only the commands in its scope, and leaves out requests with none.
      const page = await store.listRequests({ ...toRequestFilter(request.query), scope: scopeOf(request) }, toPage(request.query));
      return { items: page.items.map(requestView), next: page.next };
    },
  );

  app.get(
    '/api/v1/requests/:request_id',
    {
      schema: {
        tags: ['requests'],
        summary: 'One fan-out at a glance: counts per status and the commands not (yet) successful',
        params: RequestParams,
        querystring: PageQuery,
        response: { 200: RequestSummaryBody, ...errorResponses },
      },
      config: { permission: 'commands:read' },
    },
    async (request) => {
      const summary = await store.requestSummary(request.params.request_id, toPage(request.query), scopeOf(request));
      if (!summary) throw errors.REQUEST_NOT_FOUND(request.params.request_id);
      return summary;
    },
  );

  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit trail (filters; cursor pagination); with Accept: application/x-ndjson, the whole matching trail streamed',
        querystring: AuditQuery,
        response: {
          200: {
            description: 'A page of the trail; or, with Accept: application/x-ndjson, every matching entry, one JSON object per line',
            content: { 'application/json': { schema: AuditPage }, 'application/x-ndjson': { schema: Type.String() } },
          },
          ...errorResponses,
        },
      },
      config: { permission: 'audit:read' },
    },
    async (request, reply) => {
      const filter = { ...toAuditFilter(request.query), scope: scopeOf(request) };
      if (request.headers.accept?.includes('application/x-ndjson')) {
        // The whole matching trail, streamed: one JSON line per entry, paged from the store as the client reads.
        const lines = async function* () {
          for await (const entry of auditEntries(store, filter, request.query.order)) yield `${JSON.stringify(auditView(entry))}\n`;
        };
        // A stream is piped as is (not serialized by the JSON response schema, which it does not match).
        return reply.type('application/x-ndjson').send(Readable.from(lines()) as never);
      }
      const page = await store.queryAudit(filter, toPage(request.query), request.query.order);
      return { items: page.items.map(auditView), next: page.next };
    },
  );
}
