import type { CommandState, CommandStatus } from '../../src/domain/command.js';
import type { AuditEvent, CommandStore, WriteBatch, WriteOutcome } from '../../src/store/store.js';
import type { AgentRecord } from '../../src/store/records.js';

/**
 * The parts of a store that unit tests of the supervisor do not exercise: no agents, no history,
 * nothing to recover. A fake store extends it and writes `commit` and `getCommand` its own way.
 */
export abstract class CommandStoreStub implements CommandStore {
  readonly kind = 'opensearch' as const;

  abstract commit(batch: WriteBatch): Promise<WriteOutcome>;
  abstract getCommand(id: string): Promise<CommandState | null>;

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async history(): Promise<AuditEvent[]> {
    return [];
  }
  async loadUnfinished(): Promise<CommandState[]> {
    return [];
  }
  async maxSeq(): Promise<number> {
    return 0;
  }
  async countByStatus(): Promise<Record<CommandStatus, number>> {
    throw new Error('not used');
  }
  async addAgent(): Promise<boolean> {
    return true;
  }
  async replaceAgent(): Promise<boolean> {
    return false;
  }
  async getAgent(): Promise<AgentRecord | null> {
    return null;
  }
  async removeAgent(): Promise<boolean> {
    return true;
  }
  async setAgentGroups(): Promise<AgentRecord | null> {
    return null;
  }
  async probeWrite(): Promise<void> {}
  async getAgents(_ids: string[]): Promise<Map<string, AgentRecord>> {
    return new Map();
  }
  async agentGroups(ids: string[]): Promise<Map<string, string[]>> {
    return new Map(ids.map((id) => [id, []]));
  }
  async agentsInGroup(): Promise<{ id: string; groups: string[] }[]> {
    return [];
  }
  async requestOwner(): Promise<{ owner: string | null } | null> {
    return null;
  }
}
