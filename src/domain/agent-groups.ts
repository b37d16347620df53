import type { CommandDocument } from './command.js';
import { MAX_ID_LENGTH } from './command.js';
import { allowsTarget, type Scope } from './scope.js';

/**
 * An agent's groups: the rules for their names and number (the registration's, the direct edit's,
 * and what a successful set-group command may put in the registry), and what a change of them
 * reaches in a key's scope.
 */

/** Most groups one agent is in. */
export const MAX_AGENT_GROUPS = 128;
/** A group name: as an id (letters, digits, `._:@-`, 1 to 256 characters). */
export const GROUP_NAME = /^[A-Za-z0-9._:@-]+$/;

export function isGroupName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && GROUP_NAME.test(value);
}

/** The list without repeats, in the order first given. */
export function distinctGroups(groups: readonly string[]): string[] {
  return [...new Set(groups)];
}

/**
 * The groups a successful set-group command gives its agent (repeats dropped), or null when it
 * gives none: another action, no agent, or groups the registry would not take (not names, too
 * many). Commands reach courier from others too (the indexer), so their arguments are checked here.
 */
export function groupsSetBy(doc: Pick<CommandDocument, 'agent' | 'command'>): string[] | null {
  if (doc.command.action.name !== 'set-group' || doc.agent.id === null) return null;
  const groups = doc.command.action.args.groups;
  if (!Array.isArray(groups) || !groups.every(isGroupName)) return null;
  const distinct = distinctGroups(groups);
  return distinct.length <= MAX_AGENT_GROUPS ? distinct : null;
}

/**
 * The first group that a change of an agent's groups (from `current` to `next`) names or removes
 * and that the scope does not reach, or undefined. A key scoped to group linux may neither move
 * its agents into windows (out of its own reach, into another key's) nor take them out of windows
 * (out of the other key's reach). Every group of `next` counts, even one the agent is in already:
 * a set-group command runs later, on whatever groups the agent has by then.
 */
export function groupChangeOutside(scope: Scope, current: readonly string[], next: readonly string[]): string | undefined {
  const removed = current.filter((group) => !next.includes(group));
  return [...next, ...removed].find((group) => !allowsTarget(scope, { type: 'group', id: group }));
}
