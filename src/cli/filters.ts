import { InvalidArgumentError, Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { COMMAND_STATUSES, TARGET_TYPES } from '../domain/command.js';

/** Parsed filter options (commander's camelCase names) and the query parameters of the list routes they become. */
export const COMMAND_FILTERS = {
  status: 'status',
  agent: 'agent',
  targetType: 'target_type',
  targetId: 'target_id',
  action: 'action',
  request: 'request_id',
  from: 'from',
  to: 'to',
} as const;

/** The kinds of audit entries (see the audit trail's `kind`). */
export const AUDIT_KINDS = ['transition', 'refusal', 'job', 'membership', 'key'] as const;

export const AUDIT_FILTERS = { ...COMMAND_FILTERS, actor: 'actor', node: 'node', kind: 'kind' } as const;

/** `--status success,failure`: each one of `statuses`, said with the valid ones when not. */
export function statusListOf(statuses: readonly string[]): (text: string) => string {
  return (text) => {
    const unknown = text.split(',').filter((s) => !statuses.includes(s.trim()));
    if (unknown.length > 0) throw new InvalidArgumentError(`A status is one of ${statuses.join(', ')} (not ${unknown.map((s) => `"${s}"`).join(', ')}).`);
    return text;
  };
}

/** The filter options as parsed (return types spelled out: see withTlsOptions). */
export interface CommandFilterValues {
  status?: string | undefined;
  agent?: string | undefined;
  targetType?: (typeof TARGET_TYPES)[number] | undefined;
  targetId?: string | undefined;
  action?: string | undefined;
  request?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export interface AuditFilterValues extends CommandFilterValues {
  actor?: string | undefined;
  node?: string | undefined;
  kind?: (typeof AUDIT_KINDS)[number] | undefined;
}

export function withCommandFilters<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
): Command<Args, Opts & CommandFilterValues, Globals> {
  return command
    .option('--status <s[,s]>', `only these statuses (${COMMAND_STATUSES.join(', ')})`, statusListOf(COMMAND_STATUSES))
    .option('--agent <id>', "only this agent's commands")
    .addOption(new Option('--target-type <type>', 'only commands to this kind of target').choices(TARGET_TYPES))
    .option('--target-id <id>', 'only commands to this target (an agent, a group, a server component)')
    .option('--action <name>', 'only this action')
    .option('--request <request_id>', 'only the commands of one request (a fan-out)')
    .option('--from <time>', 'created at or after this time (ISO 8601)')
    .option('--to <time>', 'created before this time (ISO 8601)') as unknown as Command<Args, Opts & CommandFilterValues, Globals>;
}

export function withAuditFilters<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
): Command<Args, Opts & AuditFilterValues, Globals> {
  return withCommandFilters(command)
    .option('--actor <who>', 'only what this actor did (an API key name, an agent, a node)')
    .option('--node <name>', 'only what happened on this node')
    .addOption(new Option('--kind <kind>', 'only this kind of entry').choices(AUDIT_KINDS)) as unknown as Command<Args, Opts & AuditFilterValues, Globals>;
}

/** The query string for the given parsed option values. */
export function filterQuery<Filters extends Record<string, string>>(filters: Filters, values: { [option in keyof Filters]?: unknown }): URLSearchParams {
  const query = new URLSearchParams();
  for (const [option, name] of Object.entries(filters)) {
    const value = values[option as keyof Filters];
    if (typeof value === 'string') query.set(name, value);
  }
  return query;
}
