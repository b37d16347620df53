/**
 * The command document, in the field layout of Wazuh's `wazuh-commands` index,
 * plus the few fields courier adds under `courier`.
 */

/**
 * Every status of a command, in lifecycle order: the one list the API schemas, both stores (the SQLite
 * schema, the OpenSearch queries) and the CLI read. The command machine's states are exactly these
 * (test/domain/command.test.ts holds the two together).
 */
export const COMMAND_STATUSES = ['pending', 'sent', 'delivered', 'success', 'failure', 'timed_out', 'cancelled'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
/** Where every command starts. */
export const INITIAL_STATUS = 'pending' satisfies CommandStatus;
/** Where a command's lifecycle ends: nothing changes it any more. */
export const FINAL_STATUSES: ReadonlySet<CommandStatus> = new Set(['success', 'failure', 'timed_out', 'cancelled'] as const);
/** Every other status: the commands the runtime keeps live (and recovers on start). */
export const UNFINISHED_STATUSES: readonly CommandStatus[] = COMMAND_STATUSES.filter((status) => !FINAL_STATUSES.has(status));

/** Whether a string (read from storage, a query, a document written by others) is a status. */
export function isCommandStatus(value: unknown): value is CommandStatus {
  return typeof value === 'string' && (COMMAND_STATUSES as readonly string[]).includes(value);
}

/** A count per status, every one at 0. */
export function zeroCountsByStatus(): Record<CommandStatus, number> {
  return Object.fromEntries(COMMAND_STATUSES.map((status) => [status, 0])) as Record<CommandStatus, number>;
}

/** The longest id (a document_id, an agent's, a request's) courier takes or makes. */
export const MAX_ID_LENGTH = 256;

export const TARGET_TYPES = ['agent', 'group', 'server'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export interface CommandTarget {
  type: TargetType;
  id: string;
}

export interface CommandAction {
  name: string;
  args: Record<string, unknown>;
  version: string;
}

export interface CommandResult {
  code: number;
  message: string;
  data?: unknown;
}

/** What a producer asks for; one spec may expand to many documents (group targets). */
export interface CommandSpec {
  source: string;
  user?: string | undefined;
  target: CommandTarget;
  action: CommandAction;
  /** Seconds within which the command must be delivered. */
  timeout: number;
  /** Set when an external poller pushes a command that already has an id (adoption). */
  document_id?: string | undefined;
  request_id?: string | undefined;
  order_id?: string | undefined;
  /** Set on the commands a job creates. */
  job?: JobRef | undefined;
}

/** Which job made a command: the job, its step (from 0) and the attempt of that step on the target (from 1). */
export interface JobRef {
  id: string;
  step: number;
  attempt: number;
}

/** The immutable part of a command, fixed at creation. */
export interface CommandDocument {
  document_id: string;
  '@timestamp': string;
  delivery_timestamp: string;
  agent: { id: string | null; groups: string[] };
  command: {
    source: string;
    user?: string | undefined;
    target: CommandTarget;
    action: CommandAction;
    timeout: number;
    request_id: string;
    order_id: string;
  };
  /** Where courier routes it: `agent:<uuid>` or `server:<module>`. */
  route: string;
  /** Creation order (per store); per target, commands go out in this order. */
  seq: number;
  /**
   * Who created it (`socket`, `key:<id>`; absent when written by others, e.g. the indexer plugin):
   * the owner of its request, the only one who may add commands to it. Not shown to agents.
   */
  owner?: string;
  /** The job that made it, when one did. */
  job?: JobRef;
}

/** A command as read back: its document plus where its lifecycle stands. */
export interface CommandState {
  doc: CommandDocument;
  status: CommandStatus;
  result: CommandResult | null;
  deliveredAt: number | null;
  executionDeadline: number | null;
  attempts: number;
  /**
   * Which node claimed it (status `sent`) and until when the claim holds. Stores shared by several
   * nodes keep it; a claim whose node died expires and another node may deliver the command.
   */
  claim?: CommandClaim | null;
  /**
   * Opaque version of the stored document this state was read from (OpenSearch: primary term and
   * `_seq_no`), so that a store shared by several nodes can write the next change conditionally.
   */
  version?: string;
}

/** A command just created: in the machine's initial state, never handed out. */
export function createdState(doc: CommandDocument): CommandState {
  return { doc, status: INITIAL_STATUS, result: null, deliveredAt: null, executionDeadline: null, attempts: 0 };
}

export interface CommandClaim {
  node: string;
  /** ms since epoch */
  until: number;
}

/** An agent's route is this prefix and its id. */
export const AGENT_ROUTE_PREFIX = 'agent:';

export function agentRoute(agentId: string): string {
  return `${AGENT_ROUTE_PREFIX}${agentId}`;
}

/** A server component's route is this prefix and its module. */
export const SERVER_ROUTE_PREFIX = 'server:';

export function serverRoute(module: string): string {
  return `${SERVER_ROUTE_PREFIX}${module}`;
}

/** The Wazuh-shaped view of a command that agents and producers receive: its document's fields, flattened, and where its lifecycle stands. */
export interface CommandView {
  document_id: string;
  '@timestamp': string;
  delivery_timestamp: string;
  agent: CommandDocument['agent'];
  source: string;
  user: string | undefined;
  target: CommandTarget;
  action: CommandAction;
  timeout: number;
  request_id: string;
  order_id: string;
  job_id?: string;
  step?: number;
  attempt?: number;
  status: CommandStatus;
  result?: CommandResult;
}

export function commandView(state: Pick<CommandState, 'doc' | 'status' | 'result'>): CommandView {
  const { doc } = state;
  const { command } = doc;
  // Optional fields assigned in their place in the order, not spread in: one view per command answered or pushed.
  const view: CommandView = {
    document_id: doc.document_id,
    '@timestamp': doc['@timestamp'],
    delivery_timestamp: doc.delivery_timestamp,
    agent: doc.agent,
    source: command.source,
    user: command.user,
    target: command.target,
    action: command.action,
    timeout: command.timeout,
    request_id: command.request_id,
    order_id: command.order_id,
  } as CommandView;
  if (doc.job) {
    view.job_id = doc.job.id;
    view.step = doc.job.step;
    view.attempt = doc.job.attempt;
  }
  view.status = state.status;
  if (state.result) view.result = state.result;
  return view;
}
