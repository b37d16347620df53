import type { FastifyRequest } from 'fastify';
import { AGENT_ROUTE_PREFIX, SERVER_ROUTE_PREFIX } from '../domain/command.js';
import type { JobSpec } from '../domain/job.js';
import { allowsAction, allowsTarget, isUnrestricted, type Scope } from '../domain/scope.js';
import { errors } from '../errors.js';
import type { JobPolicy } from '../operator-routes/job-routes.js';
import type { CommandStore } from '../store/store.js';
import { actorOf, type Access } from './access.js';
import { ownerOf } from './command-policy.js';

/** The first of a job's actions or targets outside a scope, named; null when it is all inside. */
async function outsideScope(scope: Scope, spec: JobSpec, targets: string[], store: CommandStore): Promise<string | null> {
  if (isUnrestricted(scope)) return null;
  for (const step of spec.steps) if (!allowsAction(scope, step.action.name)) return `action ${step.action.name}`;
  // set-group would move the job's agents out of the key's reach (see command-policy.ts).
  for (const step of spec.steps) {
    const groups = step.action.name === 'set-group' && Array.isArray(step.action.args.groups) ? (step.action.args.groups as string[]) : [];
    const outside = groups.find((group) => !allowsTarget(scope, { type: 'group', id: group }));
    if (outside !== undefined) return `group ${outside} (set by ${step.action.name})`;
  }
  if (scope.targets.length === 0) return null;
  const agentIds = targets.filter((route) => route.startsWith(AGENT_ROUTE_PREFIX)).map((route) => route.slice(AGENT_ROUTE_PREFIX.length));
  const groupsOf = agentIds.length > 0 ? await store.agentGroups(agentIds) : new Map<string, string[]>();
  for (const route of targets) {
    const target = route.startsWith(AGENT_ROUTE_PREFIX)
      ? ({ type: 'agent', id: route.slice(AGENT_ROUTE_PREFIX.length) } as const)
      : ({ type: 'server', id: route.slice(SERVER_ROUTE_PREFIX.length) } as const);
    if (!allowsTarget(scope, target, groupsOf.get(target.id) ?? [])) return `target ${target.type}:${target.id}`;
  }
  // A continuous job reaches whoever joins its groups later: the groups themselves must be inside.
  for (const group of spec.continuous ? (spec.targets.groups ?? []) : []) {
    if (!allowsTarget(scope, { type: 'group', id: group })) return `target group:${group}`;
  }
  return null;
}

/**
 * The management API's job policy: a job reaching anything outside the key's scope (a target, an
 * action, a group set-group would set) is refused and audited; a job outside it is answered as an
 * unknown one (404), whatever is asked of it.
 */
export function scopedJobPolicy(access: Access, store: CommandStore): JobPolicy {
  return {
    async create(request, spec, targets) {
      const principal = access.principal(request);
      const outside = await outsideScope(principal.scope, spec, targets, store);
      if (outside !== null) await access.refuse(request, errors.OUT_OF_SCOPE(outside));
      return { who: actorOf(principal), owner: ownerOf(principal) };
    },
    async reach(request: FastifyRequest, job) {
      const principal = access.principal(request);
      if ((await outsideScope(principal.scope, job.spec, job.targets, store)) !== null) await access.refuse(request, errors.JOB_NOT_FOUND(job.id));
      return actorOf(principal);
    },
    async sees(request: FastifyRequest, job) {
      return (await outsideScope(access.principal(request).scope, job.spec, job.targets, store)) === null;
    },
  };
}
