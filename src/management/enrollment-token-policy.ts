import type { FastifyRequest } from 'fastify';
import { allowsTarget, type Scope } from '../domain/scope.js';
import { errors } from '../errors.js';
import type { EnrollmentTokenPolicy } from '../operator-routes/enrollment-token-routes.js';
import type { EnrollmentTokenRecord } from '../store/enrollment-token-store.js';
import { actorOf, type Access } from './access.js';

/**
 * A token registers agents under ids the enrolling hosts choose, so only groups can bound what it
 * makes: a key scoped to targets reaches a token when every group of the token is in its scope
 * (a token for no group is out of every such scope).
 */
function reaches(scope: Scope, groups: readonly string[]): boolean {
  if (scope.targets.length === 0) return true;
  return groups.length > 0 && groups.every((group) => allowsTarget(scope, { type: 'group', id: group }));
}

/**
 * The management API's enrollment-token policy: the key's name is the token's `created_by`, and
 * a scoped admin key makes, sees and revokes only tokens inside its groups (refusals audited; an
 * unknown id is refused like a token outside the scope, so the answer tells nothing about it).
 */
export function scopedTokenPolicy(access: Access): EnrollmentTokenPolicy {
  return {
    async creator(request: FastifyRequest, groups: string[]) {
      const principal = access.principal(request);
      if (!reaches(principal.scope, groups)) {
        const outside = groups.find((group) => !reaches(principal.scope, [group]));
        await access.refuse(request, errors.OUT_OF_SCOPE(outside !== undefined ? `group ${outside}` : 'an enrollment token for no group'));
      }
      return actorOf(principal);
    },
    sees: (request, token) => reaches(access.principal(request).scope, token.groups),
    async revoker(request, id, token: EnrollmentTokenRecord | null) {
      const principal = access.principal(request);
      const unrestricted = principal.scope.targets.length === 0;
      if (!unrestricted && (!token || !reaches(principal.scope, token.groups))) {
        await access.refuse(request, errors.OUT_OF_SCOPE(`enrollment token ${id}`));
      }
      return actorOf(principal);
    },
  };
}
