import type { FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Type } from 'typebox';
import type { ApiKeys } from '../auth/api-keys.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses } from '../http/schemas.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { AuditFilter, OperatorStore } from '../store/operator-store.js';
import { AuditTail } from '../store/audit-tail.js';
import { auditView, type ScopeOf } from './query-routes.js';
import { EventStreamQuery, toAuditFilter } from './schemas.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

const KEEPALIVE_MS = 15_000;

export interface EventStreamOptions {
  /** The id of the API key a request was let in with. */
  keyOf?: (request: FastifyRequest) => string;
  /** Where revocations are heard of: a stream of a revoked key ends at once. */
  keys?: Pick<ApiKeys, 'onRevoked' | 'lapsed'>;
}

export interface EventStreams {
  /** Streams holding a commit listener and a keepalive timer right now. */
  openStreams(): number;
}

/**
 * `GET /api/v1/events/stream`: a live feed of the audit trail as server-sent events, filterable
 * like `/audit`. Each event's `id` is its audit id, so a client that reconnects with
 * `Last-Event-ID` (or `?last_event_id=`) resumes exactly after the last event it saw: the feed is
 * read from the durable trail, never from memory, so nothing is missed and nothing repeated.
 * A stream lives no longer than the key it was opened with: revoked on this node, it ends at once;
 * revoked by another node sharing the store, at the next keepalive.
 */
export function registerEventStream(app: HttpApp, supervisor: Supervisor, store: OperatorStore, scopeOf: ScopeOf, options: EventStreamOptions = {}): EventStreams {
  const { keyOf, keys } = options;
  /** Each open stream, with the id of its key (null on the admin socket). */
  const streams = new Map<ServerResponse, string | null>();
  // On shutdown, before the server waits for its connections: each stream's 'close' lets go of the rest.
  app.addHook('preClose', async () => {
    for (const raw of streams.keys()) raw.destroy();
  });
  const stopHearing = keys?.onRevoked((revoked) => {
    for (const [raw, keyId] of streams) if (keyId === revoked) raw.destroy();
  });
  if (stopHearing) app.addHook('onClose', async () => void stopHearing());
  app.get(
    '/api/v1/events/stream',
    {
      schema: {
        tags: ['audit'],
        summary: 'Live feed of the audit trail (server-sent events; resumable with Last-Event-ID)',
        querystring: EventStreamQuery,
        // The feed is text/event-stream; its refusals (before the stream starts) are JSON like every error.
        response: {
          200: {
            description: "Server-sent events: id = audit id, event = the entry's kind (transition, refusal, job, membership, key), data = the audit entry",
            // Before OpenAPI 3.2 (no `itemSchema`), a text/event-stream's `schema` describes one event.
            content: { 'text/event-stream': { schema: ServerSentEvent } },
          },
          ...errorResponses,
        },
      },
      config: { permission: 'audit:read' },
    },
    async (request, reply) => {
      const raw = reply.raw;
      // Everything this stream holds is let go of here, whenever the client leaves: the 'close'
      // handler is in place before the first await, and a client gone before it was (during
      // authentication) is seen by `destroyed` below.
      let closed = false;
      let unsubscribe = (): void => {};
      let keepalive: NodeJS.Timeout | undefined;
      const release = (): void => {
        closed = true;
        unsubscribe();
        clearInterval(keepalive);
        streams.delete(raw);
      };
      const keyId = keyOf?.(request) ?? null;
      streams.set(raw, keyId);
      raw.once('close', release);
      const gone = () => closed || raw.destroyed || request.raw.destroyed;

      const filter: AuditFilter = { ...toAuditFilter(request.query), scope: scopeOf(request) };
      const resumeFrom = headerOrQuery(request.headers['last-event-id'], request.query.last_event_id);
      let cursor: string;
      try {
        cursor = resumeFrom ?? (await store.latestAuditId());
      } catch (error) {
        release();
        throw error;
      }

      reply.hijack();
      if (gone()) {
        release();
        raw.destroy();
        return;
      }
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': courier audit stream\n\n');

      const tail = new AuditTail(
        store,
        filter,
        cursor,
        (entry) => write(raw, `id: ${entry.id}\nevent: ${entry.kind}\ndata: ${JSON.stringify(auditView(entry))}\n\n`) || drained(raw),
        () => closed,
      );
      // Sends everything after the cursor; a wake-up during a pump makes it go round once more.
      const pump = (): Promise<void> =>
        tail.pump().catch((err: unknown) => {
          request.log.error({ err }, 'event stream failed');
          raw.destroy();
        });

      unsubscribe = supervisor.onCommitted(() => void pump());
      keepalive = setInterval(() => {
        write(raw, ': keepalive\n\n');
        void pump(); // refusals are written outside the transition batches
        // A revocation made by another node is not heard of here, nor an expiry: the key is read again.
        if (keyId !== null && keys)
          void keys.lapsed(keyId).then(
            (lapsed) => lapsed && raw.destroy(),
            () => undefined,
          );
      }, KEEPALIVE_MS);
      await pump();
    },
  );
  return { openStreams: () => streams.size };
}

/** Resolves when the socket can take more, or is gone; either way both listeners are removed. */
function drained(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (raw.destroyed) return resolve();
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}

function write(raw: ServerResponse, chunk: string): boolean {
  return raw.writableEnded ? true : raw.write(chunk);
}

function headerOrQuery(header: string | string[] | undefined, query: string | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value && /^[0-9]{1,20}$/.test(value)) return value;
  return query ?? null;
}

/** One event of the feed as a client parses it: `data` is the audit entry's JSON. */
const ServerSentEvent = Type.Object({
  id: Type.String({ description: 'The audit entry id (send it back as Last-Event-ID to resume)' }),
  event: Type.Union(
    ['transition', 'refusal', 'job', 'membership', 'key'].map((kind) => Type.Literal(kind)),
    { description: "The entry's kind" },
  ),
  data: Type.String({ description: 'The audit entry, as JSON' }),
});
