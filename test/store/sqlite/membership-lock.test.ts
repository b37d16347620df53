// An operator's edit of an agent's groups while the store's writer thread holds the write lock: it
// waits for the lock, as every write of the store does, instead of failing with "database is locked"
// (a deferred transaction that reads first has a snapshot the writer's commit makes stale).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-lock-'));
const file = join(dir, 'courier.db');
let store: SqliteStore;
before(async () => {
  store = new SqliteStore({ file, synchronous: 'normal' });
  await store.open();
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Another connection that takes the write lock, writes, says so, and commits `holdMs` later. */
function writerHoldingTheLock(holdMs: number): Worker {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require('better-sqlite3');
    const db = new Database(workerData.file);
    db.pragma('busy_timeout = 5000');
    db.prepare('BEGIN IMMEDIATE').run();
    db.prepare("UPDATE agents SET name = 'held' WHERE id = 'lock-agent'").run();
    parentPort.postMessage('locked');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
    db.prepare('COMMIT').run();
    db.close();
    parentPort.postMessage('committed');`;
  return new Worker(code, { eval: true, workerData: { file, holdMs } });
}

test("an agent's groups edited while another connection writes: it waits for the lock, then is written", async () => {
  await store.addAgent({ id: 'lock-agent', keyHash: 'x', groups: ['old'], createdAt: Date.now() });
  const worker = writerHoldingTheLock(300);
  const [first] = (await once(worker, 'message')) as [string];
  assert.equal(first, 'locked');
  const edited = await store.setAgentGroups({ agent_id: 'lock-agent', groups: ['new'], document_id: null, cause: 'edited', at: Date.now(), node: 'n', actor: 'test' });
  assert.deepEqual(edited?.groups, ['new']);
  assert.deepEqual((await store.getAgent('lock-agent'))?.groups, ['new']);
  assert.equal((await store.getAgent('lock-agent'))?.name, 'held', "the other connection's write stands too");
  await once(worker, 'exit');
});
