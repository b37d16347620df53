import { allowsAction, allowsCommand, allowsTarget } from '../auth/scope.js';
import { errors } from '../errors.js';
import type { CommandPolicy } from '../http/command-routes.js';
import type { CommandStore } from '../store/store.js';
import { actorOf, type Access } from './access.js';
import type { Principal } from '../auth/api-keys.js';

/** What a key's commands record as their owner: its id (names may repeat, ids do not). */
function ownerOf(principal: Principal): string {
  return `key:${principal.keyId}`;
}

/**
 * The management API's command policy: the key's name is recorded as `command.user`, and a
 * command outside the key's scope (its targets, its actions) is refused and audited.
 */
export function scopedCommandPolicy(access: Access, store: CommandStore): CommandPolicy {
  return {
    async submit(request, specs) {
      const principal = access.principal(request);
      const { scope } = principal;
      const agentIds = specs.filter((s) => s.target.type === 'agent').map((s) => s.target.id);
      const groupsOf = agentIds.length > 0 && scope.targets.length > 0 ? await store.agentGroups(agentIds) : new Map<string, string[]>();
      for (const spec of specs) {
        if (!allowsAction(scope, spec.action.name)) await access.refuse(request, errors.OUT_OF_SCOPE(`action ${spec.action.name}`));
        if (!allowsTarget(scope, spec.target, groupsOf.get(spec.target.id) ?? [])) {
          await access.refuse(request, errors.OUT_OF_SCOPE(`target ${spec.target.type}:${spec.target.id}`));
        }
      }
      // A request_id names a new request, or one this key made: no key adds commands to another's fan-out.
      const owner = ownerOf(principal);
      for (const requestId of new Set(specs.flatMap((s) => (s.request_id ? [s.request_id] : [])))) {
        const found = await store.requestOwner(requestId);
        if (found && found.owner !== owner) await access.refuse(request, errors.REQUEST_NOT_OWNED(requestId));
      }
      return { specs: specs.map((spec) => ({ ...spec, user: principal.name })), who: actorOf(principal), owner };
    },
    async reach(request, documentId, state) {
      const principal = access.principal(request);
      if (state && !allowsCommand(principal.scope, state.doc)) {
        await access.refuse(request, errors.OUT_OF_SCOPE(`command ${documentId}`), documentId);
      }
      return actorOf(principal);
    },
  };
}
