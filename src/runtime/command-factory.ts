import { randomUUID } from 'node:crypto';
import { v5 as uuidV5, v7 as uuidV7 } from 'uuid';
import type { CommandDocument, CommandSpec } from '../domain/command.js';
import { agentRoute, serverRoute } from '../domain/command.js';
import { errors } from '../errors.js';
import type { CommandStore } from '../store/store.js';

/** The namespace of courier's name-based (v5) UUIDs: ids derived from an idempotency key. */
const IDEMPOTENT_IDS = '6f1d7f0e-4b8a-5c1e-9a53-2f1c0d4e8b71';

export interface PlanOptions {
  /** Most commands one request may create (group targets count each member). */
  maxCommands: number;
  /** Who creates them (`socket`, `key:<id>`): kept with each command, it owns the request. */
  owner: string;
  /**
   * The producer's idempotency key: the request's id and every command's id are derived from it
   * (and from the owner), so that a retry names the same commands instead of making new ones.
   */
  idempotencyKey?: string | undefined;
}

/** One command to create: its spec (by index in the request) and its target. */
interface PlannedCommand {
  specIndex: number;
  agentId: string | null;
  groups: string[];
  route: string;
  documentId: string;
}

/** What a request creates, targets resolved and ids chosen, before any document is built. */
export interface CommandPlan {
  specs: CommandSpec[];
  /** Per spec, in order: the commands it creates. */
  commands: PlannedCommand[][];
  total: number;
  requestId: string;
  owner: string;
}

/**
 * Resolves what a producer asked for into the commands to create: one per agent for `agent`
 * targets, one per member for `group` targets, one for a `server` component. Every target is
 * checked, and the count bounded, before anything is built: a bad request stores nothing.
 */
export async function planCommands(specs: CommandSpec[], store: Pick<CommandStore, 'agentGroups' | 'agentsInGroup'>, options: PlanOptions): Promise<CommandPlan> {
  if (specs.length === 0) throw errors.NO_COMMANDS();
  const { idempotencyKey, owner, maxCommands } = options;
  const derive = idempotencyKey === undefined ? null : (name: string) => uuidV5(`${owner}\n${idempotencyKey}\n${name}`, IDEMPOTENT_IDS);
  // Ids courier chooses are time-ordered (UUID v7): a store's index of them grows at its end, where
  // random (v4) ids landed each on a page of its own, a page written per command (see
  // docs/performance.md). Ids derived from an idempotency key must be the same on a retry: name-based.
  const requestId = derive ? derive('request') : uuidV7();

  const agentIds = specs.filter((s) => s.target.type === 'agent').map((s) => s.target.id);
  const groupsOf = agentIds.length > 0 ? await store.agentGroups(agentIds) : new Map<string, string[]>();
  const members = new Map<string, { id: string; groups: string[] }[]>();
  let total = 0;
  for (const spec of specs) {
    if (spec.target.type === 'agent' && !groupsOf.has(spec.target.id)) throw errors.UNKNOWN_AGENT(spec.target.id);
    if (spec.target.type === 'group') {
      let agents = members.get(spec.target.id);
      if (!agents) {
        // One more than allowed is enough to refuse: a million-member group is not read whole.
        agents = await store.agentsInGroup(spec.target.id, maxCommands + 1);
        if (agents.length === 0) throw errors.EMPTY_GROUP(spec.target.id);
        members.set(spec.target.id, agents);
      }
      total += agents.length;
    } else total += 1;
    if (total > maxCommands) throw errors.TOO_MANY_COMMANDS(maxCommands);
  }

  const commands = specs.map((spec, specIndex): PlannedCommand[] => {
    const idOf = (target: string) => spec.document_id ?? (derive ? derive(`${specIndex}\n${target}`) : uuidV7());
    switch (spec.target.type) {
      case 'agent':
        return [{ specIndex, agentId: spec.target.id, groups: groupsOf.get(spec.target.id)!, route: agentRoute(spec.target.id), documentId: idOf(spec.target.id) }];
      case 'server':
        return [{ specIndex, agentId: null, groups: [], route: serverRoute(spec.target.id), documentId: idOf(spec.target.id) }];
      case 'group':
        // Each member gets a document of its own (a `document_id` on a group spec cannot be shared).
        return members.get(spec.target.id)!.map((agent) => {
          const documentId = derive ? derive(`${specIndex}\n${agent.id}`) : uuidV7();
          return { specIndex, agentId: agent.id, groups: agent.groups, route: agentRoute(agent.id), documentId };
        });
    }
  });
  return { specs, commands, total, requestId, owner };
}

/**
 * The times of the documents created at one instant, as ISO strings: formatted once per create
 * slice (its commands share `now`, and most their timeout), not twice per command.
 */
export class CreationTimes {
  readonly createdAt: string;
  private readonly deadlines = new Map<number, string>();

  constructor(readonly now: number) {
    this.createdAt = new Date(now).toISOString();
  }

  /** `delivery_timestamp` of a command of `timeoutS` seconds. */
  deliveryDeadline(timeoutS: number): string {
    let deadline = this.deadlines.get(timeoutS);
    if (deadline === undefined) this.deadlines.set(timeoutS, (deadline = new Date(this.now + timeoutS * 1000).toISOString()));
    return deadline;
  }
}

/** The document of one planned command, created at `times.now` with the next `seq`. */
export function commandDocument(plan: CommandPlan, command: PlannedCommand, times: CreationTimes, seq: number): CommandDocument {
  const spec = plan.specs[command.specIndex]!;
  // Built with its final shape, optional fields set after: an object spread per command costs more than the rest.
  const body: CommandDocument['command'] = {
    source: spec.source,
    target: spec.target,
    action: spec.action,
    timeout: spec.timeout,
    request_id: spec.request_id ?? plan.requestId,
    order_id: spec.order_id ?? randomUUID(),
  };
  if (spec.user !== undefined) body.user = spec.user;
  const doc: CommandDocument = {
    document_id: command.documentId,
    '@timestamp': times.createdAt,
    delivery_timestamp: times.deliveryDeadline(spec.timeout),
    agent: { id: command.agentId, groups: command.groups },
    command: body,
    route: command.route,
    seq,
    owner: plan.owner,
  };
  if (spec.job) doc.job = spec.job;
  return doc;
}
