import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifySchema } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Duplex } from 'node:stream';
import { createServer as createPlainServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsServerOptions } from '../tls/server-tls.js';
import { closeWithError } from './raw-error.js';
import fastifySwagger from '@fastify/swagger';
import { CourierError, errors, toErrorBody } from '../errors.js';
import { COURIER_VERSION } from '../version.js';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  /** How long a request (headers and body) may take to arrive (ms); then 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** Describes the routes as an OpenAPI 3 document, served at `/api/v1/openapi.json`; absent, no document. */
  openapi?: {
    title: string;
    description: string;
    /**
     * Every route needs an API key unless its config says `public` (the management API): each
     * operation of the document declares so, for the clients generated from it and for Swagger UI's
     * "Try it out" to send the key it was given with Authorize.
     */
    keyed?: boolean;
  };
  /** Serve HTTPS with these options; absent: plain HTTP (the Unix socket, or `--insecure-http`). */
  tls?: TlsServerOptions | undefined;
  /**
   * Sees each request first: true when it took it (answered it elsewhere, e.g. a component's own
   * routes on the admin socket), false to leave it to this app.
   */
  dispatch?: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined;
}

/** How long an idle keep-alive connection is kept (ms). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * A fastify instance with courier's conventions: TypeBox schemas validated strictly (no type
 * coercion, unknown properties rejected where a schema says so) and every error answered as
 * `{"message","code"}`.
 */
export async function createHttpApp({ logger, bodyLimit, requestTimeoutMs, openapi, tls, dispatch }: HttpAppOptions) {
  const httpOptions = {
    // Long query strings (e.g. a list of 100,000 characters of agent ids) must reach validation.
    maxHeaderSize: 256 * 1024,
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    // Node checks the deadlines every 30 s by default: a 30 s timeout could take a minute.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.round(requestTimeoutMs / 10))),
  };
  const app = Fastify({
    // With TLS, the server is made here so that it keeps the HTTP options above (fastify's own
    // `https` option drops them) and the app keeps the plain server's type: an https.Server is
    // one at heart (node's https.Server runs the http.Server request machinery over TLS).
    // A dispatcher sees requests before the app's router, so the server is made here too.
    ...(tls || dispatch
      ? {
          serverFactory: (handler: RequestListener): HttpServer => {
            const listener: RequestListener = dispatch ? (request, response) => dispatch(request, response) || handler(request, response) : handler;
            const server = tls ? createHttpsServer({ ...tls, ...httpOptions }, listener) : createPlainServer(httpOptions, listener);
            server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
            return server;
          },
        }
      : {}),
    loggerInstance: logger,
    bodyLimit,
    // A request must arrive whole (headers and body) in time: a client trickling its bytes cannot hold
    // a connection. Node measures only until the request is received, so a held long-poll, an event
    // stream or an upgraded WebSocket is not cut. `connectionTimeout` (socket inactivity) stays off:
    // it would end a held long-poll.
    requestTimeout: requestTimeoutMs,
    // An idle keep-alive connection is closed after this (fastify's default, said here). It is longer
    // than the idle timeout of common load balancers, so that they, not courier, close first.
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // One log line per request would dominate at fleet scale; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    return503OnClosing: true,
    http: httpOptions,
    // Errors Node raises before a request exists (header overflow, malformed HTTP) in courier's shape too.
    clientErrorHandler: answerClientError,
    // HEAD would run a GET handler and discard its body: on a long-poll that would lose commands.
    exposeHeadRoutes: false,
    // Ids may be up to 256 characters; longer ones must reach schema validation (400), not the router (414).
    routerOptions: { maxParamLength: 1024 },
    // Router errors (bad percent-encoding, over-long parameters) answer in courier's shape too.
    frameworkErrors: (error, _request, reply) => {
      // The reply is a thenable that settles once it is sent; Fastify wants nothing back here.
      void sendError(reply, toCourierError(error, bodyLimit));
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const routes: RouteRecord[] = [];
  app.addHook('onRoute', ({ method, url }) => void routes.push({ method: [method].flat().join('|'), url }));
  routeRecords.set(app, routes);
  // JSON only: a text/plain body must be refused (415), not parsed as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error, request, reply) => {
    const mapped =
      (error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? errors.UNSUPPORTED_MEDIA_TYPE.causedBy(error, request.headers['content-type'] ?? 'none', (request.routeOptions.config as RouteAccepts).accepts)
        : toCourierError(error, bodyLimit);
    if (mapped.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, errors.NOT_FOUND_ROUTE(request.method, request.url)));
  if (!openapi) return app;
  // Registered (and awaited) before any route, so that every route is described.
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: openapi.title, description: openapi.description, version: COURIER_VERSION },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    ...(openapi.keyed
      ? {
          transform: ({ schema, url, route }: { schema: FastifySchema; url: string; route: { config?: unknown } }) => {
            if (!schema) return { schema, url };
            const open = (route.config as { public?: boolean } | undefined)?.public === true;
            return { schema: { ...schema, security: open ? [] : [{ bearer: [] }] }, url };
          },
        }
      : {}),
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  return app;
}

export type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;

/** A route as registered: its method(s) (`GET`, `GET|POST`) and its URL pattern. */
export interface RouteRecord {
  method: string;
  url: string;
}

const routeRecords = new WeakMap<object, RouteRecord[]>();

/** Every route registered on an app made by `createHttpApp` so far, its own included. */
export function routesOf(app: object): readonly RouteRecord[] {
  return routeRecords.get(app) ?? [];
}

/** Route config naming the content type a route accepts, for the 415 message (default JSON). */
export interface RouteAccepts {
  accepts?: string;
}
export type AnyHttpApp = FastifyInstance;

/**
 * Node leaves a connection to its `clientError` handler: answered where a response can still be
 * written (none has begun on it), then closed, as Node's own handler does.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET') return;
  // Node's own field (its default handler reads it too): the response under way on this connection.
  const answering = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (answering?.headersSent) return closeWithError(socket, null);
  closeWithError(
    socket,
    error.code === 'HPE_HEADER_OVERFLOW' ? errors.HEADERS_TOO_LARGE() : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? errors.REQUEST_TIMEOUT() : errors.BAD_REQUEST(),
  );
}

/** Maps fastify's own errors (validation, parsing, limits) onto courier's coded errors, each caused by fastify's. */
export function toCourierError(error: unknown, bodyLimit: number): CourierError {
  if (error instanceof CourierError) return error;
  const e = error as FastifyError;
  if (e.validation && e.validation.length > 0) {
    const [first] = e.validation;
    const where = `${e.validationContext ?? 'body'}${(first!.instancePath ?? '').replaceAll('/', '.')}`;
    const missing = (first!.params as { missingProperty?: string }).missingProperty;
    const extra = (first!.params as { additionalProperty?: string }).additionalProperty;
    const detail = missing ? `Missing arguments: [${where}.${missing}]` : extra ? `Unknown field [${where}.${extra}]` : `Invalid [${where}]: ${first!.message}`;
    return errors.VALIDATION.causedBy(error, detail);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.MALFORMED_JSON.causedBy(error, e.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.BODY_TOO_LARGE.causedBy(error, bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.UNSUPPORTED_MEDIA_TYPE.causedBy(error, 'unknown');
    case 'FST_ERR_BAD_URL':
      return errors.VALIDATION.causedBy(error, `Malformed URL: ${e.message}`);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return errors.VALIDATION.causedBy(error, 'A path parameter is too long');
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return errors.HTTP_CLIENT_ERROR.causedBy(error, e.statusCode, e.message);
  }
  return errors.INTERNAL.causedBy(error);
}

export function sendError(reply: FastifyReply, error: CourierError): FastifyReply {
  if (error.retryAfterS !== undefined) void reply.header('retry-after', String(error.retryAfterS));
  return reply.code(error.statusCode).type('application/json').send(toErrorBody(error));
}
