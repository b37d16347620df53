import { allowsAction, allowsCommand, allowsTarget, isUnrestricted, type Scope } from '../domain/scope.js';
import { groupChangeOutside } from '../domain/agent-groups.js';
import type { CommandSpec } from '../domain/command.js';
import { errors } from '../errors.js';
import type { CommandPolicy } from '../operator-routes/command-routes.js';
import type { CommandStore } from '../store/store.js';
import { actorOf, type Access } from './access.js';
import type { Principal } from '../auth/api-keys.js';

/** What a key's commands record as their owner: its id (names may repeat, ids do not). */
export function ownerOf(principal: Principal): string {
  return `key:${principal.keyId}`;
}

/** The groups a set-group command would put its agent in. */
function groupsSet(spec: CommandSpec): string[] {
  const groups = spec.action.name === 'set-group' ? spec.action.args.groups : undefined;
  return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [];
}

/**
 * A group the key may not move agents into or out of: a set-group command reaches as far as the
 * groups it sets, and the groups its agents leave (read from the registry: the agent's, or each
 * member's of the group it targets).
 */
async function groupOutside(scope: Scope, spec: CommandSpec, store: CommandStore, groupsOf: Map<string, string[]>): Promise<string | undefined> {
  if (spec.action.name !== 'set-group') return undefined;
  const next = groupsSet(spec);
  if (spec.target.type === 'agent') return groupChangeOutside(scope, groupsOf.get(spec.target.id) ?? [], next);
  const named = groupChangeOutside(scope, [], next);
  if (named !== undefined || spec.target.type !== 'group' || scope.targets.length === 0) return named;
  for (const member of await store.agentsInGroup(spec.target.id)) {
    const outside = groupChangeOutside(scope, member.groups, next);
    if (outside !== undefined) return outside;
  }
  return undefined;
}

/**
 * The management API's command policy: the key's name is recorded as `command.user`, and a
 * command outside the key's scope (its targets, its actions, the groups a set-group sets) is
 * refused and audited. A single command outside the scope is answered as an unknown one (404).
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
        // Else a key scoped to group linux could move its agents into windows, out of its own reach
        // and into another key's, and have them run what is sent to windows (or take them out of windows).
        const group = await groupOutside(scope, spec, store, groupsOf);
        if (group !== undefined) await access.refuse(request, errors.OUT_OF_SCOPE(`group ${group} (set by ${spec.action.name})`));
        // Choosing a document_id would tell a scoped key whether a command outside its scope has that id
        // (taken: 409 or adopted; free: created), whatever the answer said. So it may not choose one: the
        // same refusal for every id, known or not. Idempotency-Key makes its retries safe instead.
        if (spec.document_id !== undefined && !isUnrestricted(scope)) {
          await access.refuse(request, errors.OUT_OF_SCOPE('a document_id chosen by a scoped key (send an Idempotency-Key header to retry safely)'));
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
      // Answered as for an unknown id, so that a scoped key cannot learn which ids exist outside its scope; still audited.
      if (state && !allowsCommand(principal.scope, state.doc)) {
        await access.refuse(request, errors.COMMAND_NOT_FOUND(documentId), documentId);
      }
      return actorOf(principal);
    },
  };
}
