import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentRegistry, registrationOf } from '../../src/auth/agent-registry.js';
import type { CommandState } from '../../src/domain/command.js';
import type { AgentRecord } from '../../src/store/records.js';
import type { WriteOutcome } from '../../src/store/store.js';
import { CommandStoreStub } from '../support/command-store-stub.js';

/** Registrations in memory, a write counter as the mark, and a log of the agents each read asked for. */
class Registrations extends CommandStoreStub {
  readonly records = new Map<string, AgentRecord>();
  writes = 0;
  marks = 0;
  readonly reads: string[][] = [];

  async commit(): Promise<WriteOutcome> {
    throw new Error('not used');
  }
  async getCommand(): Promise<CommandState | null> {
    return null;
  }
  async registrationsMark(): Promise<string> {
    this.marks++;
    return `w${this.writes}`;
  }
  override async getAgents(ids: string[]): Promise<Map<string, AgentRecord>> {
    this.reads.push([...ids]);
    return new Map(ids.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])));
  }
  put(id: string, createdAt = 1): AgentRecord {
    const record = { id, keyHash: `hash-${id}-${createdAt}`, groups: [], createdAt };
    this.records.set(id, record);
    this.writes++;
    return record;
  }
  remove(id: string): void {
    this.records.delete(id);
    this.writes++;
  }
}

function setUp(ids: string[]) {
  const store = new Registrations();
  const registry = new AgentRegistry(store);
  for (const id of ids) registry.touch(id, registrationOf(store.put(id)));
  return { store, registry };
}

test('the sweep reads the connected agents once, then nothing while no registration changes', async () => {
  const { store, registry } = setUp(['a', 'b', 'c']);
  assert.deepEqual(await registry.sweep(['a', 'b', 'c']), []);
  assert.deepEqual(await registry.sweep(['a', 'b', 'c']), []);
  assert.deepEqual(await registry.sweep(['a', 'b', 'c']), []);
  assert.deepEqual(store.reads, [['a', 'b', 'c']]);
});

test('an agent that connects since is read alone', async () => {
  const { store, registry } = setUp(['a', 'b']);
  await registry.sweep(['a']);
  await registry.sweep(['a', 'b']);
  assert.deepEqual(store.reads, [['a'], ['b']]);
});

test('any write to the registrations makes the next sweep read every connected agent, and a removal ends its connections', async () => {
  const { store, registry } = setUp(['a', 'b', 'c']);
  const ended: string[] = [];
  registry.onRemoved((id) => ended.push(id));
  await registry.sweep(['a', 'b', 'c']);
  store.remove('b');
  assert.deepEqual(await registry.sweep(['a', 'b', 'c']), ['b']);
  assert.deepEqual(ended, ['b']);
  assert.deepEqual(store.reads, [
    ['a', 'b', 'c'],
    ['a', 'b', 'c'],
  ]);
});

test('an agent whose connection now uses another registration than the one checked is read again', async () => {
  const { store, registry } = setUp(['a']);
  await registry.sweep(['a']);
  // Registered again (another node) and the mark read, then a connection with a token of the old one.
  const old = registrationOf(store.records.get('a')!);
  registry.touch('a', registrationOf(store.put('a', 2)));
  await registry.sweep(['a']);
  registry.touch('a', old);
  assert.deepEqual(await registry.sweep(['a']), ['a']);
  assert.equal(store.reads.length, 3);
});

test('an agent that left is forgotten by the sweep: when it comes back it is read again', async () => {
  const { store, registry } = setUp(['a', 'b']);
  await registry.sweep(['a', 'b']);
  await registry.sweep(['a']);
  await registry.sweep(['a', 'b']);
  assert.deepEqual(store.reads, [['a', 'b'], ['b']]);
});

test('with no agent connected the sweep asks the store nothing, not even its mark', async () => {
  const { store, registry } = setUp(['a']);
  assert.deepEqual(await registry.sweep([]), []);
  assert.equal(store.marks, 0);
  assert.deepEqual(store.reads, []);
});
