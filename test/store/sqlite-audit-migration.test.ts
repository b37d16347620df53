import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

// The audit trail moved from an index on document_id to one on the command's seq (migration 2):
// a data directory made before it must keep every trail, and new records must join it.
test('a store made at schema version 1 keeps its audit trails after the seq migration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-migration-'));
  try {
    const file = join(dir, 'courier.db');
    const v1 = new Database(file);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    const doc = {
      document_id: 'cmd-1',
      '@timestamp': '2026-01-01T00:00:00.000Z',
      delivery_timestamp: '2026-01-01T01:00:00.000Z',
      agent: { id: 'a1', groups: [] },
      command: { source: 's', target: { type: 'agent', id: 'a1' }, action: { name: 'x', args: {}, version: '1' }, timeout: 3600, request_id: 'r', order_id: 'o' },
      route: 'agent:a1',
      seq: 7,
    };
    v1.prepare(
      `INSERT INTO commands (document_id, seq, route, agent_id, request_id, action, status, created_at, delivery_deadline, attempts, updated_at, doc)
       VALUES ('cmd-1', 7, 'agent:a1', 'a1', 'r', 'x', 'sent', 1, 2, 1, 1, ?)`,
    ).run(JSON.stringify(doc));
    const audit = v1.prepare(`INSERT INTO audit (document_id, from_status, to_status, cause, at, node, actor) VALUES ('cmd-1', ?, ?, ?, ?, 'n', 'x')`);
    audit.run(null, 'pending', 'created', 1);
    audit.run('pending', 'sent', 'claimed', 2);
    v1.close();

    const store = new SqliteStore({ file, synchronous: 'normal' });
    await store.open();
    await store.commit({
      creates: [],
      changes: [
        {
          document_id: 'cmd-1',
          seq: 7,
          status: 'delivered',
          result: null,
          deliveredAt: 3,
          executionDeadline: 4,
          attempts: 1,
          claim: null,
          audit: { document_id: 'cmd-1', from: 'sent', to: 'delivered', cause: 'delivered', at: 3, node: 'n', actor: 'x' },
        },
      ],
    });
    assert.deepEqual(
      (await store.history('cmd-1')).map((e) => e.to),
      ['pending', 'sent', 'delivered'],
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
