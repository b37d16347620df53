import type { Client } from '@opensearch-project/opensearch';
import type { AgentRecord } from '../records.js';
import { isStatus, isUnavailable, toCourierError, toWriteError } from './failures.js';
import type { DocVersion } from './version-book.js';
import { getFound, searchAll } from './search.js';
import { writeMark } from './checkpoint.js';

export interface AgentSource {
  // Wazuh's registration writes null for what it does not know (groups, host…).
  agent: { id: string; key?: string | null; groups?: string[] | null; name?: string | null };
  courier?: { created_at?: number };
}

/** How many times a change of an agent's groups is read and tried again when other writes come first. */
const CONFLICT_RETRIES = 5;

/** An agent Wazuh registered has no `courier` object: its registration is told apart by its key hash alone. */
export function toRecord(source: AgentSource): AgentRecord {
  const { id, key, groups, name } = source.agent;
  return { id, keyHash: key ?? '', groups: groups ?? [], createdAt: source.courier?.created_at ?? 0, ...(typeof name === 'string' ? { name } : {}) };
}

export function toSource(agent: AgentRecord): AgentSource {
  return {
    agent: { id: agent.id, key: agent.keyHash, groups: agent.groups, ...(agent.name !== undefined ? { name: agent.name } : {}) },
    courier: { created_at: agent.createdAt },
  };
}

/**
 * Registered agents in `wazuh-agents` (Wazuh's `agent.id`, `agent.key`, `agent.groups`). The key
 * is stored hashed: courier's `sha256$…` for agents courier registered, Wazuh's PBKDF2 for those
 * Wazuh registered; both authenticate. One document per agent, its id the agent id.
 */
export class AgentDirectory {
  /**
   * The last record read of each agent: used only while the cluster is unreachable, so that agents
   * already connected can still authenticate and be served.
   */
  private readonly lastKnown = new Map<string, AgentRecord>();

  constructor(
    private readonly client: Client,
    private readonly index: string,
    private readonly pageSize: number,
  ) {}

  async add(agent: AgentRecord): Promise<boolean> {
    try {
      await this.client.index({ index: this.index, id: agent.id, op_type: 'create', body: toSource(agent) });
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw toCourierError(error);
    }
    this.lastKnown.set(agent.id, agent);
    return true;
  }

  /** Overwrites the agent's document (one write: the id is never briefly free); true when there was one. */
  async replace(agent: AgentRecord): Promise<boolean> {
    let result: string;
    try {
      const res = await this.client.index({ index: this.index, id: agent.id, body: toSource(agent) });
      result = (res.body as unknown as { result: string }).result;
    } catch (error) {
      throw toCourierError(error);
    }
    this.lastKnown.set(agent.id, agent);
    return result === 'updated';
  }

  async get(id: string): Promise<AgentRecord | null> {
    try {
      const res = await this.client.get({ index: this.index, id });
      const record = toRecord((res.body as unknown as { _source: AgentSource })._source);
      this.lastKnown.set(id, record);
      return record;
    } catch (error) {
      if (isStatus(error, 404)) {
        this.lastKnown.delete(id);
        return null;
      }
      const known = this.lastKnown.get(id);
      if (known && isUnavailable(error)) return known;
      throw toCourierError(error);
    }
  }

  /**
   * Sets a registered agent's groups: a partial update conditioned on the version just read (so
   * that a registration replaced or removed meanwhile is not overwritten or made again), read
   * again when another write came first. Null when the agent is not registered; else the record
   * before and after, and the version of the document written.
   */
  async setGroups(id: string, groups: string[]): Promise<{ before: AgentRecord; after: AgentRecord; version: DocVersion } | null> {
    for (let attempt = 0; ; attempt++) {
      let found: { _source: AgentSource; _seq_no: number; _primary_term: number } | null;
      try {
        const res = await this.client.get({ index: this.index, id });
        found = res.body as unknown as { _source: AgentSource; _seq_no: number; _primary_term: number };
      } catch (error) {
        if (!isStatus(error, 404)) throw toCourierError(error);
        found = null;
      }
      if (!found) {
        this.lastKnown.delete(id);
        return null;
      }
      const before = toRecord(found._source);
      try {
        const res = await this.client.update({
          index: this.index,
          id,
          if_seq_no: found._seq_no,
          if_primary_term: found._primary_term,
          body: { doc: { agent: { groups } } },
        });
        const body = res.body as unknown as { _seq_no: number; _primary_term: number };
        const after = { ...before, groups };
        this.lastKnown.set(id, after);
        return { before, after, version: { seqNo: body._seq_no, primaryTerm: body._primary_term } };
      } catch (error) {
        // Changed (or removed) since the read: read it again.
        if ((isStatus(error, 409) || isStatus(error, 404)) && attempt < CONFLICT_RETRIES) continue;
        throw toWriteError(error);
      }
    }
  }

  async remove(id: string): Promise<boolean> {
    this.lastKnown.delete(id);
    try {
      await this.client.delete({ index: this.index, id });
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw toCourierError(error);
    }
  }

  /** Changes with every write to the agents index (see `CommandStore.registrationsMark`). */
  async mark(): Promise<string> {
    try {
      return await writeMark(this.client, this.index);
    } catch (error) {
      throw toCourierError(error);
    }
  }

  /** The registrations among `ids`, by `_mget` in chunks; unknown ids are absent. */
  async getMany(ids: string[]): Promise<Map<string, AgentRecord>> {
    try {
      const docs = await getFound<AgentSource>(this.client, this.index, ids, 'agent');
      return new Map(docs.map((doc) => [doc._source.agent.id, toRecord(doc._source)]));
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async groupsOf(ids: string[]): Promise<Map<string, string[]>> {
    const records = await this.getMany(ids);
    return new Map([...records].map(([id, record]) => [id, record.groups]));
  }

  /** The members of a group, by agent id; registrations made before the call are included. */
  async inGroup(group: string, limit = Infinity): Promise<{ id: string; groups: string[] }[]> {
    const members: { id: string; groups: string[] }[] = [];
    try {
      await this.client.indices.refresh({ index: this.index });
      const pages = searchAll<AgentSource>(this.client, this.index, { term: { 'agent.groups': group } }, this.pageSize, [{ 'agent.id': 'asc' }]);
      for await (const hits of pages) {
        for (const hit of hits) members.push({ id: hit._source.agent.id, groups: hit._source.agent.groups ?? [] });
        if (members.length >= limit) return members.slice(0, limit);
      }
    } catch (error) {
      throw toCourierError(error);
    }
    return members;
  }
}
