import { Argument, type Command } from '@commander-js/extra-typings';
import { commandPaths } from './command-paths.js';

/**
 * `courier completion bash|zsh`: a completion script made from the command tree itself, so that it
 * cannot fall behind: command and subcommand names, each command's options, and the values of an
 * option that has choices (`keys create --role <TAB>`). zsh runs the same function through bashcompinit.
 */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(courier completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh'] as const))
    .addHelpText('after', '\nbash: add `source <(courier completion bash)` to ~/.bashrc; zsh: `source <(courier completion zsh)` to ~/.zshrc.')
    .action((shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}

export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const paths = commandPaths(program).map(([command, path]) => ({ command, key: path.split(' ').slice(1).join(' ') }));
  const quote = (words: string[]) => `'${words.join(' ')}'`;
  const known = paths.filter((p) => p.key !== '').map((p) => `"${p.key}"`);
  const words = paths.map(({ command, key }) => {
    // commander's own `help [command]` is not among the commands it lists.
    const names = (command.commands as Command[])
      .map((c) => c.name())
      .concat(
        command.commands.length > 0 ? ['help'] : [],
        command.registeredArguments.flatMap((a) => a.argChoices ?? []),
      );
    const flags = command.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
    return `    "${key}") words=${quote([...names, ...flags, '--help'])} ;;`;
  });
  const choices = paths.flatMap(({ command, key }) =>
    command.options.filter((o) => o.argChoices && o.long).map((o) => `    "${key}|${o.long}") COMPREPLY=($(compgen -W ${quote(o.argChoices!)} -- "$cur")); return ;;`),
  );
  const bash = `# courier ${shell} completion: source <(courier completion ${shell})
_courier() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" word i words
  # The command typed so far: the words that extend a known command (options and their values are not).
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "\${path:+$path }$word" in
      ${known.join('|')}) path="\${path:+$path }$word" ;;
    esac
  done
  case "$path|$prev" in
${choices.join('\n')}
  esac
  case "$path" in
${words.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _courier courier
`;
  return shell === 'bash' ? bash : `#compdef courier\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
