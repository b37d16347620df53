import type { CommandStatus } from '../domain/command.js';

/**
 * The records every store port speaks of (the runtime's `CommandStore`, the operators' and the
 * enrollment tokens' ports), kept apart so that the ports need not import one another.
 */

/** One audit record: a single transition of one command. */
export interface TransitionRecord {
  document_id: string;
  from: CommandStatus | null;
  to: CommandStatus;
  cause: string;
  /** ms since epoch */
  at: number;
  node: string;
  /** Who caused it: `agent:<id>`, `user:<name>`, `source:<name>`, `courier` (deadlines, recovery). */
  actor: string;
}

/** An agent's registration: its key only as a hash. */
export interface AgentRecord {
  id: string;
  keyHash: string;
  groups: string[];
  createdAt: number;
  /** A name to show beside the id (e.g. the host name an enrolling agent gave); absent when none. */
  name?: string;
}

/**
 * An agent's groups set to `groups`: by the success of a set-group command (`document_id` names it,
 * written with that transition), or by an operator (`document_id` null). Its audit record says
 * the groups before and after; nothing is written for an agent that is not registered.
 */
export interface MembershipChange {
  agent_id: string;
  groups: string[];
  document_id: string | null;
  /** `set-group`: a command's success; `edited`: an operator's edit. */
  cause: 'set-group' | 'edited';
  /** ms since epoch */
  at: number;
  node: string;
  actor: string;
}

/** The audit record of a membership change, as stored: with the groups it replaced. */
export interface MembershipRecord extends MembershipChange {
  previous_groups: string[];
}
