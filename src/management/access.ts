import type { FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { ApiKeys, Principal } from '../auth/api-keys.js';
import type { Permission } from '../auth/roles.js';
import { roleAllows } from '../auth/roles.js';
import { isUnrestricted } from '../domain/scope.js';
import type { AuthenticationGuard } from '../http/authentication-guard.js';
import { CourierError, errors } from '../errors.js';
import type { OperatorStore } from '../store/operator-store.js';
import type { Logger } from 'pino';
import { RefusalThrottle, type RefusalSummary } from '../http/refusal-throttle.js';

/** Route config of the management API: the permission a route needs, or `public` for none. */
export interface AccessConfig {
  permission?: Permission;
  public?: boolean;
  /** What it answers spans the whole fleet (e.g. /metrics): only for a key without a scope. */
  fleetWide?: boolean;
}

export interface AccessOptions {
  keys: ApiKeys;
  /** Throttles failed authentications (per address). */
  guard: AuthenticationGuard;
  store: OperatorStore;
  node: string;
  now: () => number;
  logger: Logger;
  /** Path prefixes anyone may read (the API documentation). */
  publicPrefixes?: string[];
  /** Anonymous refusals of one kind (address, route, reason) audited at most once per window (ms). */
  refusalWindowMs?: number;
  /** A request on this connection presented a valid key (for the cap on unauthenticated connections). */
  authenticated?: (socket: Socket) => void;
}

const REFUSAL_WINDOW_MS = 60_000;
const MAX_REFUSAL_KINDS = 10_000;

/**
 * Authentication and authorisation of the management API. Every route needs a key with the
 * route's permission; every refusal is written to the audit trail before it is answered: one by
 * one for a valid key (wrong role, outside its scope), throttled for anonymous ones (no key, bad
 * key), so that an unauthenticated flood cannot grow the trail without bound (see RefusalThrottle).
 */
export class Access {
  private readonly principals = new WeakMap<FastifyRequest, Principal>();
  private readonly throttle: RefusalThrottle;
  private readonly sweeper: NodeJS.Timeout;
  private readonly summaries = new Set<Promise<void>>();

  constructor(private readonly options: AccessOptions) {
    const windowMs = options.refusalWindowMs ?? REFUSAL_WINDOW_MS;
    this.throttle = new RefusalThrottle({
      windowMs,
      maxKinds: MAX_REFUSAL_KINDS,
      now: options.now,
      summarize: (summary) => {
        const written = this.recordSummary(summary).finally(() => this.summaries.delete(written));
        this.summaries.add(written);
      },
    });
    this.sweeper = setInterval(() => this.throttle.sweep(), windowMs);
    this.sweeper.unref();
  }

  /** The `onRequest` hook: runs before the body is read. */
  readonly check = async (request: FastifyRequest): Promise<void> => {
    const config = request.routeOptions.config as AccessConfig;
    if (config.public || (this.options.publicPrefixes ?? []).some((prefix) => request.url.startsWith(prefix))) return;
    // No route: 404 to everyone, key or not, and nothing audited (a scanner's 404s would fill the trail,
    // and the routes are no secret: the OpenAPI document is public).
    if (request.is404) return;
    const authorization = request.headers.authorization;
    const apiKey = headerValue(request.headers['x-api-key']);
    let principal: Principal;
    try {
      // Counted per address only: a key's secret is 256 random bits, so no one guesses it, and a count
      // per key id would let anyone who learned an id (it is in the key, and in listings) lock its operator out.
      principal = await this.options.guard.attempt(request.ip, null, () => this.options.keys.authenticate(authorization, apiKey));
    } catch (error) {
      return this.refuse(request, error as CourierError);
    }
    this.principals.set(request, principal);
    this.options.authenticated?.(request.raw.socket);
    // A route without a declared permission is an admin's.
    const permission = config.permission ?? 'agents:write';
    if (!roleAllows(principal.role, permission)) await this.refuse(request, errors.FORBIDDEN(principal.role, permission));
    if (config.fleetWide && !isUnrestricted(principal.scope))
      await this.refuse(request, errors.OUT_OF_SCOPE(`${request.method} ${request.routeOptions.url} spans the whole fleet`));
  };

  principal(request: FastifyRequest): Principal {
    const principal = this.principals.get(request);
    if (!principal) throw errors.MISSING_API_KEY();
    return principal;
  }

  /** Records the refusal in the audit trail (an anonymous one unless throttled), then throws it to be answered. */
  async refuse(request: FastifyRequest, error: CourierError, documentId: string | null = null): Promise<never> {
    const principal = this.principals.get(request);
    const kind = { address: request.ip, route: `${request.method} ${request.routeOptions.url ?? '(no route)'}`, reason: error.code };
    if (principal || this.throttle.admit(kind)) {
      await this.options.store.recordRefusal({
        document_id: documentId,
        at: this.options.now(),
        node: this.options.node,
        actor: principal ? actorOf(principal) : 'anonymous',
        detail: `${request.method} ${request.url.split('?')[0]}: ${error.message} (${error.code})${principal ? '' : ` from ${request.ip}`}`,
      });
    }
    throw error;
  }

  /** Shutdown: the refusals held back so far are written as their summaries. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.throttle.flush();
    await Promise.all(this.summaries);
  }

  private async recordSummary({ address, route, reason, count, since }: RefusalSummary): Promise<void> {
    try {
      await this.options.store.recordRefusal({
        document_id: null,
        at: this.options.now(),
        node: this.options.node,
        actor: 'anonymous',
        detail: `${route}: ${count} more refused (${reason}) from ${address} since ${new Date(since).toISOString()}, not recorded one by one`,
      });
    } catch (err) {
      this.options.logger.error({ err }, 'cannot record a summary of refusals');
    }
  }
}

/** How a key appears in the audit trail. */
export function actorOf(principal: Principal): string {
  return `key:${principal.name}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
