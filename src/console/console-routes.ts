import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/api-keys.js';
import { PERMISSIONS, roleAllows } from '../auth/roles.js';
import { formatScope } from '../domain/scope.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses } from '../http/schemas.js';
import { LiveStateTally } from '../domain/live-states.js';
import { errors } from '../errors.js';
import { loadConsoleAssets } from './console-assets.js';
import { consoleMachines } from './console-machines.js';
import { ASSETS_PATH, CONSOLE_CSS, CONSOLE_PATH, consolePage, securityHeaders } from './console-page.js';

export interface ConsoleDeps {
  /** The key a request presented (the management API's access check found it). */
  principalOf: (request: FastifyRequest) => Principal;
  /** Adds where this node's live actors stand. */
  tallyLiveStates: (tally: LiveStateTally) => void;
  node: string;
}

const tags = ['console'];

const Point = Type.Object({ x: Type.Number(), y: Type.Number() });
const MachineBody = Type.Object({
  id: Type.String(),
  title: Type.String(),
  file: Type.String(),
  layout: Type.Object({
    width: Type.Number(),
    height: Type.Number(),
    states: Type.Array(
      Type.Object({
        path: Type.String(),
        key: Type.String(),
        type: Type.String(),
        initial: Type.Boolean(),
        notes: Type.Array(Type.String()),
        x: Type.Number(),
        y: Type.Number(),
        width: Type.Number(),
        height: Type.Number(),
      }),
    ),
    transitions: Type.Array(
      Type.Object({
        source: Type.String(),
        target: Type.String(),
        event: Type.String(),
        label: Type.String(),
        lines: Type.Array(Type.String()),
        points: Type.Array(Point),
        labelX: Type.Number(),
        labelY: Type.Number(),
      }),
    ),
  }),
});
const LiveStatesBody = Type.Object({
  counts: Type.Record(Type.String(), Type.Integer()),
  actors: Type.Array(Type.Object({ id: Type.String(), states: Type.Array(Type.String()) })),
});

/**
 * The web console on the management API: the page and its files at `/console` (no key needed to
 * load them; the page asks for one), and the three reads only the console needs — who the key is,
 * the machines' diagrams, and where this node's live actors stand. Every other call of the page
 * is an ordinary management API route, under the same key, role and scope.
 */
export function registerConsoleRoutes(app: HttpApp, deps: ConsoleDeps): void {
  const page = consolePage();
  const assets = loadConsoleAssets();
  assets.set('console.css', { body: Buffer.from(CONSOLE_CSS), type: 'text/css; charset=utf-8' });

  for (const url of [CONSOLE_PATH, `${CONSOLE_PATH}/`]) {
    app.get(url, { schema: { hide: true }, config: { public: true } }, async (_request, reply) => reply.headers(page.headers).send(page.html));
  }
  app.get(`${ASSETS_PATH}/*`, { schema: { hide: true }, config: { public: true } }, async (request, reply) => {
    const asset = assets.get((request.params as { '*': string })['*']);
    if (!asset) throw errors.NOT_FOUND_ROUTE(request.method, request.url);
    return reply.headers(securityHeaders(asset.type)).send(asset.body);
  });

  app.get(
    '/api/v1/console/session',
    {
      schema: {
        tags,
        summary: 'The key this request presented: its name, role, scope and what it may do (the console shows only what it allows)',
        response: {
          200: Type.Object({ name: Type.String(), role: Type.String(), scope: Type.Array(Type.String()), permissions: Type.Array(Type.String()), node: Type.String() }),
          ...errorResponses,
        },
      },
      config: { permission: 'commands:read' },
    },
    async (request) => {
      const principal = deps.principalOf(request);
      return {
        name: principal.name,
        role: principal.role,
        scope: formatScope(principal.scope),
        permissions: PERMISSIONS.filter((permission) => roleAllows(principal.role, permission)),
        node: deps.node,
      };
    },
  );

  app.get(
    '/api/v1/console/machines',
    {
      schema: {
        tags,
        summary: "Every machine of the runtime with its diagram laid out (states and transitions in pixels), from the machines' definitions",
        response: { 200: Type.Object({ machines: Type.Array(MachineBody) }), ...errorResponses },
      },
      config: { permission: 'commands:read' },
    },
    async () => ({ machines: consoleMachines() }),
  );

  app.get(
    '/api/v1/console/live',
    {
      schema: {
        tags,
        summary: "Where this node's live actors stand, per machine: how many in each state, and the first 50 by id (keys without a scope only)",
        response: {
          200: Type.Object({ node: Type.String(), at: Type.String({ format: 'date-time' }), machines: Type.Record(Type.String(), LiveStatesBody) }),
          ...errorResponses,
        },
      },
      config: { permission: 'commands:read', fleetWide: true },
    },
    async () => {
      const tally = new LiveStateTally();
      deps.tallyLiveStates(tally);
      return { node: deps.node, at: new Date().toISOString(), machines: tally.machines };
    },
  );
}
