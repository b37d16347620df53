import type { CommandAction } from './command.js';

/** The actions Wazuh defines: a job's steps are one of them. */
export const KNOWN_ACTIONS: readonly string[] = ['restart', 'set-group', 'fetch-config', 'update', 'refresh'];

/**
 * Checks the arguments of the actions Wazuh defines; other action names pass as they are.
 * Returns a message naming the bad field, or null.
 */
export function actionArgsProblem(action: Pick<CommandAction, 'name' | 'args'>, where: string): string | null {
  const args = action.args ?? {};
  const stringArray = (key: string, required: boolean): string | null => {
    const value = args[key];
    if (value === undefined) return required ? `Missing arguments: [${where}.action.args.${key}]` : null;
    if (!Array.isArray(value)) return `Expected [${where}.action.args.${key}] to be an array, got [${typeName(value)}]`;
    if (!value.every((v) => typeof v === 'string' && v.length > 0)) {
      return `Expected [${where}.action.args.${key}] to hold only non-empty strings`;
    }
    return null;
  };
  switch (action.name) {
    case 'set-group':
      return stringArray('groups', true);
    case 'refresh':
      return stringArray('index', false);
    default:
      return null;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'VALUE_NULL';
  if (typeof value === 'string') return 'VALUE_STRING';
  if (typeof value === 'number') return 'VALUE_NUMBER';
  if (typeof value === 'boolean') return 'VALUE_BOOLEAN';
  return 'START_OBJECT';
}
