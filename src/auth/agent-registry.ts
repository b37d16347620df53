import { createHash } from 'node:crypto';
import { AgentKeyVerifier } from './agent-key-verifier.js';
import { generateSecret, hashSecret } from './secret-hash.js';
import { RefusalReason } from './refusal-reason.js';
import { errors } from '../errors.js';
import { distinctGroups } from '../domain/agent-groups.js';
import type { CommandStore } from '../store/store.js';
import type { AgentRecord } from '../store/records.js';

export interface AgentView {
  id: string;
  name: string | null;
  groups: string[];
  created_at: string;
}

function view(agent: AgentRecord): AgentView {
  return { id: agent.id, name: agent.name ?? null, groups: agent.groups, created_at: new Date(agent.createdAt).toISOString() };
}

export interface Registration {
  /** What is stored: the key only as its salted hash. */
  record: AgentRecord;
  /** The key, when courier generated it (to be shown once). */
  generatedKey: string | undefined;
}

/** A new registration of an agent; a key is generated when none is given. */
export function newRegistration(id: string, groups: string[], createdAt: number, options: { key?: string | undefined; name?: string | undefined } = {}): Registration {
  const secret = options.key ?? generateSecret();
  const record: AgentRecord = { id, keyHash: hashSecret(secret), groups, createdAt, ...(options.name !== undefined ? { name: options.name } : {}) };
  return { record, generatedKey: options.key === undefined ? secret : undefined };
}

export interface RegisterOptions {
  key?: string | undefined;
  name?: string | undefined;
  /**
   * Register it in place of its current registration, if any: the old key and every token issued
   * for it stop working, and its open connections are closed. Without it, an existing id is refused.
   */
  replace?: boolean | undefined;
}

/**
 * A fingerprint of one registration of an agent, carried by its tokens (`reg`). The stored key hash
 * is salted, so registering the same id again (even with the same key) gives another fingerprint.
 */
export function registrationOf(agent: AgentRecord): string {
  return createHash('sha256').update(`${agent.keyHash}|${agent.createdAt}`).digest('base64url').slice(0, 22);
}

/** Registered agents: who may authenticate, and which groups a group command reaches. */
export class AgentRegistry {
  /** When each agent last made an authenticated request (since this process started). */
  private readonly seen = new Map<string, number>();
  private readonly removedListeners = new Set<(id: string) => void>();
  /** The registration each agent's tokens were last verified against (see `touch`). */
  private readonly inUse = new Map<string, string>();
  /**
   * The last sweep: the registrations' mark it read at, and the connected agents it found valid
   * then, each with the registration its connections had used (see `sweep`).
   */
  private swept: { mark: string | null; checked: Map<string, string | undefined> } = { mark: null, checked: new Map() };

  constructor(
    private readonly store: CommandStore,
    private readonly now: () => number = Date.now,
    /** Checks keys in courier's format and in Wazuh's (agents registered by Wazuh, in OpenSearch). */
    private readonly keys = new AgentKeyVerifier({ unknownAgentCost: store.kind === 'opensearch' ? 'wazuh' : 'courier' }),
  ) {}

  /** Registers an agent; when no key is given one is generated and returned (shown once). */
  async register(id: string, groups: string[], options: RegisterOptions = {}): Promise<AgentView & { key?: string; replaced?: boolean }> {
    const { record, generatedKey } = newRegistration(id, groups, this.now(), options);
    let replaced: boolean | undefined;
    if (options.replace) {
      replaced = await this.store.replaceAgent(record);
      // The earlier registration is gone: its open long-polls and sockets go with it, as on a removal.
      if (replaced) this.forget(id);
    } else if (!(await this.store.addAgent(record))) {
      throw errors.AGENT_EXISTS(id);
    }
    return { ...view(record), ...(generatedKey !== undefined ? { key: generatedKey } : {}), ...(replaced !== undefined ? { replaced } : {}) };
  }

  async get(id: string): Promise<AgentView> {
    const agent = await this.store.getAgent(id);
    if (!agent) throw errors.AGENT_NOT_FOUND(id);
    return view(agent);
  }

  /**
   * Sets a registered agent's groups (repeats dropped), audited as `who.actor`'s edit on `who.node`;
   * its connections stay (its registration is the same). The agent as it is now.
   */
  async setGroups(id: string, groups: string[], who: { node: string; actor: string }): Promise<AgentView> {
    const record = await this.store.setAgentGroups({ agent_id: id, groups: distinctGroups(groups), document_id: null, cause: 'edited', at: this.now(), ...who });
    if (!record) throw errors.AGENT_NOT_FOUND(id);
    return view(record);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.removeAgent(id))) throw errors.AGENT_NOT_FOUND(id);
    this.forget(id);
  }

  private forget(id: string): void {
    this.seen.delete(id);
    this.inUse.delete(id);
    this.keys.forget(id);
    for (const listener of this.removedListeners) listener(id);
  }

  /** Calls `listener` with the id of each agent removed (or replaced) through this registry; returns the unsubscribe. */
  onRemoved(listener: (id: string) => void): () => void {
    this.removedListeners.add(listener);
    return () => this.removedListeners.delete(listener);
  }

  /** The current registration's fingerprint, or null if the agent is not registered. */
  async registration(id: string): Promise<string | null> {
    const agent = await this.store.getAgent(id);
    return agent ? registrationOf(agent) : null;
  }

  /** The agent made an authenticated request, with a token of `registration`. */
  touch(id: string, registration?: string): void {
    this.seen.set(id, this.now());
    if (registration !== undefined) this.inUse.set(id, registration);
  }

  /**
   * Agents removed or registered again elsewhere (through another node of a cluster): each of
   * `connected` whose registration is gone, or is not the one its connections authenticated with,
   * is forgotten here as on a removal through this node (its open connections end). Returns them.
   */
  async sweep(connected: string[]): Promise<string[]> {
    if (connected.length === 0) {
      this.swept.checked.clear();
      return [];
    }
    // Read first: a write landing during the reads below moves it, and the next sweep reads all again.
    const mark = (await this.store.registrationsMark?.()) ?? null;
    if (mark === null || mark !== this.swept.mark) this.swept = { mark, checked: new Map() };
    const { checked } = this.swept;
    const now = new Set(connected);
    for (const id of checked.keys()) if (!now.has(id)) checked.delete(id);
    // Only what was not checked against these registrations already: nothing at all while nobody
    // registers or removes an agent, however many are connected.
    const unchecked = connected.filter((id) => !checked.has(id) || checked.get(id) !== this.inUse.get(id));
    if (unchecked.length === 0) return [];
    const current = await this.store.getAgents(unchecked);
    const gone = unchecked.filter((id) => {
      const record = current.get(id);
      if (!record) return true;
      const used = this.inUse.get(id);
      return used !== undefined && used !== registrationOf(record);
    });
    for (const id of gone) this.forget(id);
    const ended = new Set(gone);
    for (const id of unchecked) if (!ended.has(id)) checked.set(id, this.inUse.get(id));
    return gone;
  }

  lastSeen(id: string): number | null {
    return this.seen.get(id) ?? null;
  }

  /**
   * Checks an agent's key; returns the registration's fingerprint, for its token. An unknown agent
   * and a wrong key get one answer, after about as long, so that no one can list registered ids.
   */
  async authenticate(id: string, key: string): Promise<string> {
    const agent = await this.store.getAgent(id);
    if (!agent) {
      await this.keys.decoy(key);
      throw errors.INVALID_KEY.causedBy(new RefusalReason('unknown agent', { agentId: id }));
    }
    if (!(await this.keys.verify(id, key, agent.keyHash))) throw errors.INVALID_KEY.causedBy(new RefusalReason('wrong key', { agentId: id }));
    return registrationOf(agent);
  }
}
