import type { FastifyPluginAsync, FastifyPluginCallback } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createHttpApp, type HttpApp, type RouteRecord } from '../http/app.js';
import { errors } from '../errors.js';

/** An ordinary fastify plugin, as a component writes it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a plugin's own options type is the component's business
export type ComponentPlugin = FastifyPluginAsync<any> | FastifyPluginCallback<any>;

export interface ComponentRoutesOptions {
  logger: Logger;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** Courier's own routes on the socket: no prefix may lie over one of them. */
  builtIns: () => readonly RouteRecord[];
}

/** One path segment as a prefix may have it: no parameter (`:id`), wildcard or encoded character. */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * The routes components add to the admin socket, each set under a prefix of its own. A component's
 * plugin runs in an app of its own, made with the socket's conventions (errors as
 * `{"message","code"}`, the body limit, strict schemas) and given the runtime as `courier` (on the
 * instance and on each request); the socket's server hands it the requests under its prefix before
 * courier's router sees them. An app of its own because fastify takes no route once its server
 * listens, and a component may be registered at any time. A prefix that would lie over a built-in
 * route, or over another component's prefix, is refused: nothing registered can shadow courier's
 * routes, whatever order things happen in.
 */
export class ComponentRoutes {
  private readonly components: { prefix: string; segments: string[]; app: HttpApp }[] = [];
  /** Prefixes being registered (their plugins are loading): taken already. */
  private readonly pending = new Set<string>();
  private closed = false;

  constructor(private readonly options: ComponentRoutesOptions) {}

  /** Registers `plugin` under `prefix`, with `decorations` on its instance and its requests; resolves once its routes answer. */
  async register(plugin: ComponentPlugin, prefix: string, decorations: Record<string, unknown>): Promise<void> {
    if (this.closed) throw errors.SHUTTING_DOWN();
    if (typeof plugin !== 'function') throw errors.PLUGIN_MODULE(prefix, 'the plugin is not a function (a fastify plugin)');
    const segments = prefixSegments(prefix);
    const shadowed = this.options.builtIns().find((route) => overlaps(segments, route.url.split('/').slice(1)));
    if (shadowed) throw errors.PLUGIN_ROUTE_SHADOWED(prefix, `${shadowed.method} ${shadowed.url}`);
    const taken = [...this.components.map((c) => c.prefix), ...this.pending].find((other) => overlaps(segments, other.split('/').slice(1), true));
    if (taken) throw errors.PLUGIN_PREFIX_TAKEN(prefix, taken);
    this.pending.add(prefix);
    try {
      const app = await createHttpApp({ logger: this.options.logger, bodyLimit: this.options.bodyLimit, requestTimeoutMs: this.options.requestTimeoutMs });
      for (const [name, value] of Object.entries(decorations)) {
        app.decorate(name, value);
        app.decorateRequest(name, { getter: () => value });
      }
      try {
        await app.register(plugin, { prefix });
        await app.ready();
      } catch (error) {
        await app.close();
        throw error;
      }
      if (this.closed) {
        await app.close();
        throw errors.SHUTTING_DOWN();
      }
      this.components.push({ prefix, segments, app });
    } finally {
      this.pending.delete(prefix);
    }
  }

  /** Hands a request under a component's prefix to that component; false for every other request. */
  readonly dispatch = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (this.closed || this.components.length === 0) return false;
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const component = this.components.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
    if (!component) return false;
    component.app.routing(request, response);
    return true;
  };

  /** The registered prefixes, in order of registration. */
  get prefixes(): string[] {
    return this.components.map((c) => c.prefix);
  }

  /** Runs each component's `onClose` hooks (the socket's server no longer hands them requests). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.components.map((c) => c.app.close()));
  }
}

/** The segments of a prefix, or a refusal naming what a prefix must be. */
function prefixSegments(prefix: string): string[] {
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw errors.PLUGIN_PREFIX_INVALID(String(prefix));
  const segments = prefix.split('/').slice(1);
  if (segments.some((segment) => !SEGMENT.test(segment) || segment === '.' || segment === '..')) throw errors.PLUGIN_PREFIX_INVALID(prefix);
  return segments;
}

/**
 * Whether a URL could be under the prefix `segments` and also match `route`, given as segments: a
 * route pattern (its parameters, `:id`, match any segment, a wildcard, `*`, any rest), or with
 * `subtree`, another prefix (it takes every URL under it too).
 */
function overlaps(segments: readonly string[], route: readonly string[], subtree = false): boolean {
  for (let i = 0; i < Math.min(segments.length, route.length); i++) {
    const part = route[i]!;
    if (part.startsWith('*')) return true;
    if (!part.startsWith(':') && part !== segments[i]) return false;
  }
  // A route shorter than the prefix matches no URL under it (unless it takes a subtree itself).
  return route.length >= segments.length || subtree;
}
