import type { FastifyRequest } from 'fastify';
import type { ApiKeys, Principal } from '../auth/api-keys.js';
import type { Permission } from '../auth/roles.js';
import { roleAllows } from '../auth/roles.js';
import { CourierError, errors } from '../errors.js';
import type { OperatorStore } from '../store/operator-store.js';

/** Route config of the management API: the permission a route needs, or `public` for none. */
export interface AccessConfig {
  permission?: Permission;
  public?: boolean;
}

/**
 * Authentication and authorisation of the management API. Every route needs a key with the
 * route's permission; every refusal (no key, bad key, wrong role, outside the key's scope) is
 * written to the audit trail before it is answered.
 */
export class Access {
  private readonly principals = new WeakMap<FastifyRequest, Principal>();

  constructor(
    private readonly keys: ApiKeys,
    private readonly store: OperatorStore,
    private readonly node: string,
    private readonly now: () => number,
    /** Path prefixes anyone may read (the API documentation). */
    private readonly publicPrefixes: string[] = [],
  ) {}

  /** The `onRequest` hook: runs before the body is read. */
  readonly check = async (request: FastifyRequest): Promise<void> => {
    const config = request.routeOptions.config as AccessConfig;
    if (config.public || this.publicPrefixes.some((prefix) => request.url.startsWith(prefix))) return;
    let principal: Principal;
    try {
      principal = await this.keys.authenticate(request.headers.authorization, headerValue(request.headers['x-api-key']));
    } catch (error) {
      return this.refuse(request, error as CourierError);
    }
    this.principals.set(request, principal);
    // A route without a declared permission is an admin's.
    const permission = config.permission ?? 'agents:write';
    if (!roleAllows(principal.role, permission)) await this.refuse(request, errors.FORBIDDEN(principal.role, permission));
  };

  principal(request: FastifyRequest): Principal {
    const principal = this.principals.get(request);
    if (!principal) throw errors.MISSING_API_KEY();
    return principal;
  }

  /** Records the refusal in the audit trail, then throws it to be answered. */
  async refuse(request: FastifyRequest, error: CourierError, documentId: string | null = null): Promise<never> {
    const principal = this.principals.get(request);
    await this.store.recordRefusal({
      document_id: documentId,
      at: this.now(),
      node: this.node,
      actor: principal ? actorOf(principal) : 'anonymous',
      detail: `${request.method} ${request.url.split('?')[0]}: ${error.message} (${error.code})`,
    });
    throw error;
  }
}

/** How a key appears in the audit trail. */
export function actorOf(principal: Principal): string {
  return `key:${principal.name}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
