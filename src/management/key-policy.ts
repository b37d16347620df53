import type { FastifyRequest } from 'fastify';
import { isFullAdmin, type ApiKeys, type ApiKeyView } from '../auth/api-keys.js';
import { formatScope, isUnrestricted, parseScope, scopeWithin, type Scope } from '../domain/scope.js';
import { errors } from '../errors.js';
import type { KeyPolicy } from '../operator-routes/key-routes.js';
import { actorOf, type Access } from './access.js';

/**
 * The management API's key policy (the route needs `keys:admin`, which only admin keys hold):
 * - a key with a scope makes, sees and revokes only keys whose scope is within its own (see
 *   `scopeWithin`): it cannot make a key that reaches further than itself, nor an unscoped one;
 *   an unknown id is refused like a key outside its scope, so the answer tells nothing about it;
 * - the last active admin key without a scope cannot be revoked here (409): it is the one key that
 *   can make any other, and without it keys could be managed on the admin socket only. A key may
 *   revoke itself otherwise (a leaked key's holder can end it at once). On the admin socket
 *   neither rule applies: it is where keys are recovered.
 * Refusals are audited (as every refusal of this API).
 */
export function scopedKeyPolicy(access: Access, keys: ApiKeys): KeyPolicy {
  const by = (request: FastifyRequest) => {
    const principal = access.principal(request);
    return { principal, actor: { actor: actorOf(principal), keyId: principal.keyId } };
  };
  const reaches = (scope: Scope, key: ApiKeyView) => scopeWithin(parseScope(key.scopes), scope);
  return {
    async creator(request, key) {
      const { principal, actor } = by(request);
      if (!scopeWithin(key.scope, principal.scope)) {
        const asked = formatScope(key.scope);
        await access.refuse(request, errors.OUT_OF_SCOPE(`a key with ${asked.length > 0 ? `scopes ${asked.join(' ')}` : 'no scope'} reaches beyond this key's`));
      }
      return actor;
    },
    sees: (request, key) => reaches(access.principal(request).scope, key),
    async revoker(request, id, key) {
      const { principal, actor } = by(request);
      if (!isUnrestricted(principal.scope) && (!key || !reaches(principal.scope, key))) await access.refuse(request, errors.OUT_OF_SCOPE(`API key ${id}`));
      // Run by ApiKeys.revoke one at a time on this node; across nodes, two admins revoking the last
      // two such keys at the same moment could both pass (the admin socket remains to make another).
      if (key && isFullAdmin(key) && !(await keys.list()).some((other) => other.id !== key.id && isFullAdmin(other))) {
        await access.refuse(request, errors.LAST_ADMIN_KEY(id));
      }
      return actor;
    },
  };
}
