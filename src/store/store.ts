import type { ClusterDirectory } from './cluster-directory.js';
import type { JobStore } from './job-store.js';
import type { EnrollmentTokenStore } from './enrollment-token-store.js';
import type { OperatorStore } from './operator-store.js';
import { CourierError, errors } from '../errors.js';
import type { CommandClaim, CommandDocument, CommandResult, CommandState, CommandStatus } from '../domain/command.js';
import type { AgentRecord, MembershipChange, TransitionRecord } from './records.js';

/**
 * The store port: what the runtime needs from a durable store. Two adapters implement it:
 * the embedded SQLite store (default) and the OpenSearch store.
 */

/** An audit record as stored, with its position in the trail. */
export interface AuditEvent extends TransitionRecord {
  id: string;
}

/** A status change of one command and its audit record; written together, atomically. */
export interface StatusChange {
  document_id: string;
  /** The command's `seq` (its document's), carried so that a store need not look it up. */
  seq: number;
  status: CommandStatus;
  result: CommandResult | null;
  deliveredAt: number | null;
  executionDeadline: number | null;
  attempts: number;
  /** Set when the change is a claim (to `sent`); null otherwise. */
  claim: CommandClaim | null;
  audit: TransitionRecord;
  /**
   * What the transition changes in the registry (a set-group command's success: its agent's
   * groups), written with it: in the same transaction, or, by a store that has none, once the
   * change went through. Never written when the change is not (a conflict, a refusal).
   */
  membership?: MembershipChange | undefined;
}

/**
 * A failure of the store itself (unreachable, unavailable, full), which a store reports with these
 * codes: writes are tried again once it is back. Anything else a commit throws is the store
 * refusing what it was asked to write, and trying it again would fail again.
 */
export function isStoreFailure(error: unknown): boolean {
  return (
    error instanceof CourierError && (error.code === errors.STORE_UNAVAILABLE.code || error.code === errors.STORE_OUTCOME_UNKNOWN.code || error.code === errors.STORE_FULL.code)
  );
}

/** A batch of writes committed as one transaction. */
export interface WriteBatch {
  creates: { doc: CommandDocument; audit: TransitionRecord }[];
  changes: StatusChange[];
}

/**
 * Stores shared by several nodes write status changes conditionally (on the version they last
 * read); a `conflict` means someone else changed the command first, and the runtime re-reads it.
 */
export interface WriteOutcome {
  /** Per create: false when a command with that `document_id` already existed (nothing written). */
  created: boolean[];
  /** Per change: `conflict` when another writer changed the command first (nothing written). */
  changes: ('ok' | 'conflict')[];
  /**
   * Items not written while others of the same batch were (a store that cannot write a batch as
   * one transaction: OpenSearch `_bulk`), by position in `creates` / `changes`, with why; their
   * entries in `created` / `changes` mean nothing. Such a store throws only when it wrote nothing.
   */
  failed?: { creates: Map<number, unknown>; changes: Map<number, unknown> };
}

export interface CommandStore {
  readonly kind: 'sqlite' | 'opensearch';
  /** The operators' queries (management API, audit, keys), when the adapter has them. */
  readonly operators?: OperatorStore;
  /** Agent enrollment tokens, when the adapter has them. */
  readonly enrollmentTokens?: EnrollmentTokenStore;
  /** Jobs, when the adapter has them. */
  readonly jobs?: JobStore;
  /** The nodes of the cluster and where each route is connected: only a store shared by several nodes has it. */
  readonly cluster?: ClusterDirectory;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * The runtime took this state, as read from the store, as the basis of the command's next
   * changes. A store that writes conditionally remembers its `version` for them.
   */
  adopted?(state: CommandState): void;
  /**
   * The runtime no longer holds this command (on a cluster, its target is served by another node or
   * none): the store forgets what it remembered of it, so that its stored state is news again to
   * the poller's reads.
   */
  released?(documentId: string): void;

  commit(batch: WriteBatch): Promise<WriteOutcome>;
  getCommand(documentId: string): Promise<CommandState | null>;
  /** The commands among these ids as stored now (no refresh needed); unknown ids are absent. Only a store shared by several nodes has it. */
  getCommands?(documentIds: string[]): Promise<CommandState[]>;
  history(documentId: string): Promise<AuditEvent[]>;
  /** Every command not in a final status, in creation order. */
  loadUnfinished(): Promise<CommandState[]>;
  /**
   * The unfinished commands of these routes, as `loadUnfinished` reads them. Only a store shared
   * by several nodes has it: a node there holds only the commands of the routes it serves, and
   * reads a route's commands when it starts serving it.
   */
  loadUnfinishedOf?(routes: string[]): Promise<CommandState[]>;
  /** The highest `seq` ever assigned (0 when empty). */
  maxSeq(): Promise<number>;
  countByStatus(): Promise<Record<CommandStatus, number>>;

  addAgent(agent: AgentRecord): Promise<boolean>;
  /** Registers the agent in place of its current registration, if any; true when there was one. */
  replaceAgent(agent: AgentRecord): Promise<boolean>;
  getAgent(id: string): Promise<AgentRecord | null>;
  removeAgent(id: string): Promise<boolean>;
  /**
   * Sets a registered agent's groups and audits it (one write: the record names the groups it
   * replaced); null, nothing written, when the agent is not registered.
   */
  setAgentGroups(change: MembershipChange): Promise<AgentRecord | null>;
  /**
   * A small write of no meaning (this node's probe row or document): it succeeds once the store takes
   * writes again after they failed, and fails as a commit would (same error codes).
   */
  probeWrite(node: string, at: number): Promise<void>;
  /** The registration of each registered agent among `ids`; unknown ids are absent (one that cannot be read fails the call). */
  getAgents(ids: string[]): Promise<Map<string, AgentRecord>>;
  /**
   * A mark that changes with every write to the registrations (registered, replaced, removed), or
   * null when the store cannot tell (then every read is needed). Only a store shared by several
   * nodes has one: the registration sweep reads agents again only when it moved.
   */
  registrationsMark?(): Promise<string>;
  /** The groups of each registered agent among `ids`; unknown ids are absent. */
  agentGroups(ids: string[]): Promise<Map<string, string[]>>;
  /** The members of a group, each with all its groups; at most `limit` of them when given. */
  agentsInGroup(group: string, limit?: number): Promise<{ id: string; groups: string[] }[]>;
  /**
   * Who owns a request: null when no command has this `request_id`; `owner` null when its commands
   * were made by another writer (e.g. the indexer plugin), which courier's producers cannot add to.
   */
  requestOwner(requestId: string): Promise<{ owner: string | null } | null>;
}
