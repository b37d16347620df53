import type { Command } from '@commander-js/extra-typings';

/** Every command under `root`, with the words that call it (`courier agents add`). */
export function commandPaths(root: Command, prefix = root.name()): [Command, string][] {
  return [[root, prefix], ...(root.commands as Command[]).flatMap((command) => commandPaths(command, `${prefix} ${command.name()}`))];
}
