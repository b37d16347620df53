import type { CommandDocument, CommandTarget } from './command.js';
import { errors } from '../errors.js';

/**
 * What an operator key may reach. A key without target patterns reaches every target; one without
 * action names may send every action. Patterns, as written on the command line:
 *   agent:<id>   agent:<prefix>*   group:<name>   server:<module>   action:<name>
 */
export type TargetPattern = { type: 'agent'; id: string; prefix: boolean } | { type: 'group'; id: string } | { type: 'server'; id: string };

export interface Scope {
  targets: TargetPattern[];
  actions: string[];
}

export const UNRESTRICTED: Scope = { targets: [], actions: [] };

export function isUnrestricted(scope: Scope): boolean {
  return scope.targets.length === 0 && scope.actions.length === 0;
}

export function parseScope(patterns: string[]): Scope {
  const scope: Scope = { targets: [], actions: [] };
  for (const pattern of patterns) {
    const match = /^(agent|group|server|action):([A-Za-z0-9._:@-]+)(\*?)$/.exec(pattern);
    if (!match || (match[3] && match[1] !== 'agent')) {
      throw errors.VALIDATION(`Invalid scope "${pattern}": use agent:<id>, agent:<prefix>*, group:<name>, server:<module> or action:<name>`);
    }
    const [, kind, id] = match as unknown as [string, 'agent' | 'group' | 'server' | 'action', string];
    if (kind === 'action') scope.actions.push(id);
    else if (kind === 'agent') scope.targets.push({ type: 'agent', id, prefix: match[3] === '*' });
    else scope.targets.push({ type: kind, id });
  }
  return scope;
}

export function formatScope(scope: Scope): string[] {
  return [...scope.targets.map((t) => (t.type === 'agent' && t.prefix ? `agent:${t.id}*` : `${t.type}:${t.id}`)), ...scope.actions.map((a) => `action:${a}`)];
}

export function allowsAction(scope: Scope, action: string): boolean {
  return scope.actions.length === 0 || scope.actions.includes(action);
}

/** Whether an agent (with its groups) is inside the scope's targets. */
export function allowsAgent(scope: Scope, agentId: string, groups: readonly string[]): boolean {
  if (scope.targets.length === 0) return true;
  return scope.targets.some((t) => (t.type === 'agent' && (t.prefix ? agentId.startsWith(t.id) : agentId === t.id)) || (t.type === 'group' && groups.includes(t.id)));
}

/**
 * Whether a requested target is inside the scope. A group target needs the group itself in scope
 * (a key scoped to some agents may not address a whole group); an agent target is checked with
 * its registered groups.
 */
export function allowsTarget(scope: Scope, target: CommandTarget, agentGroups: readonly string[] = []): boolean {
  if (scope.targets.length === 0) return true;
  switch (target.type) {
    case 'agent':
      return allowsAgent(scope, target.id, agentGroups);
    case 'group':
      return scope.targets.some((t) => t.type === 'group' && t.id === target.id);
    case 'server':
      return scope.targets.some((t) => t.type === 'server' && t.id === target.id);
  }
}

/** Whether an existing command is inside the scope (to read or cancel it). */
export function allowsCommand(scope: Scope, doc: CommandDocument): boolean {
  if (!allowsAction(scope, doc.command.action.name)) return false;
  if (doc.agent.id !== null) return allowsAgent(scope, doc.agent.id, doc.agent.groups);
  return allowsTarget(scope, doc.command.target);
}

/**
 * Whether every target and action `inner` may reach, `outer` may reach too, whatever the fleet holds:
 * judged from the patterns alone. An agent pattern is within an agent prefix it starts with; a group
 * or server only within itself (an agent pattern is not within a group: membership changes). An
 * unrestricted dimension of `inner` is within only an unrestricted one.
 */
export function scopeWithin(inner: Scope, outer: Scope): boolean {
  const targets = outer.targets.length === 0 || (inner.targets.length > 0 && inner.targets.every((target) => outer.targets.some((reach) => patternWithin(target, reach))));
  const actions = outer.actions.length === 0 || (inner.actions.length > 0 && inner.actions.every((action) => outer.actions.includes(action)));
  return targets && actions;
}

function patternWithin(inner: TargetPattern, outer: TargetPattern): boolean {
  if (inner.type === 'agent' && outer.type === 'agent') return outer.prefix ? inner.id.startsWith(outer.id) : !inner.prefix && inner.id === outer.id;
  return inner.type === outer.type && inner.id === outer.id;
}
