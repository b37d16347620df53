import type { CommandDocument } from '../../src/domain/command.js';
import type { TransitionRecord } from '../../src/store/records.js';

/** A command document for store tests: agent `a1`, created 2026-01-01T00:00Z, due within the hour. */
export function commandDoc(id: string, seq: number): CommandDocument {
  return {
    document_id: id,
    '@timestamp': '2026-01-01T00:00:00.000Z',
    delivery_timestamp: '2026-01-01T01:00:00.000Z',
    agent: { id: 'a1', groups: [] },
    command: { source: 's', user: 'u', target: { type: 'agent', id: 'a1' }, action: { name: 'x', args: {}, version: '1' }, timeout: 3600, request_id: 'r', order_id: 'o' },
    route: 'agent:a1',
    seq,
  };
}

/** The creation audit record of `commandDoc(id, …)`. */
export const createdRecord = (id: string): TransitionRecord => ({ document_id: id, from: null, to: 'pending', cause: 'created', at: 1, node: 'n', actor: 't' });
