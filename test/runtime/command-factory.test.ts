import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { version as uuidVersion } from 'uuid';
import type { CommandSpec } from '../../src/domain/command.js';
import { planCommands } from '../../src/runtime/command-factory.js';

// A fleet of 300 agents in one group, read by the planner as the store would answer it.
const FLEET = Array.from({ length: 300 }, (_, i) => ({ id: `agent-${String(i).padStart(3, '0')}`, groups: ['all'] }));
const store = {
  agentGroups: async (ids: string[]) => new Map(ids.map((id) => [id, ['all']])),
  agentsInGroup: async (group: string) => (group === 'all' ? FLEET : []),
};
const spec = (target: CommandSpec['target']): CommandSpec => ({ source: 'test', target, action: { name: 'restart', args: {}, version: '1' }, timeout: 60 });
const OPTIONS = { maxCommands: 1_000, owner: 'socket' };

describe('the ids a plan chooses', () => {
  test('are time-ordered (UUID v7): every command and request id comes after those chosen before it', async () => {
    const first = await planCommands([spec({ type: 'group', id: 'all' }), spec({ type: 'server', id: 'upgrade' })], store, OPTIONS);
    const second = await planCommands([spec({ type: 'agent', id: 'agent-007' })], store, OPTIONS);
    const ids = [...first.commands.flat(), ...second.commands.flat()].map((c) => c.documentId);
    assert.equal(ids.length, 302);
    for (const id of [...ids, first.requestId, second.requestId]) assert.equal(uuidVersion(id), 7, id);
    assert.deepEqual([...ids].sort(), ids, 'in the order they were chosen');
    assert.ok(first.requestId < second.requestId);
  });

  test('derived from an idempotency key, are the same on a retry (name-based), and a producer-given id is kept', async () => {
    const keyed = { ...OPTIONS, idempotencyKey: 'k-1' };
    const specs = [spec({ type: 'group', id: 'all' }), { ...spec({ type: 'agent', id: 'agent-001' }), document_id: 'given-id' }];
    const once = await planCommands(specs, store, keyed);
    const again = await planCommands(specs, store, keyed);
    assert.deepEqual(
      again.commands.flat().map((c) => c.documentId),
      once.commands.flat().map((c) => c.documentId),
    );
    assert.equal(again.requestId, once.requestId);
    assert.equal(uuidVersion(once.commands[0]![0]!.documentId), 5);
    assert.equal(once.commands[1]![0]!.documentId, 'given-id');
  });
});
