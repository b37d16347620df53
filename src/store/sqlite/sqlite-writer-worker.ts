// The embedded store's writer thread: commits the batches of command writes posted to it on a
// connection of its own, so that the event loop never waits for a transaction or a checkpoint.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { commandWrites } from './command-writes.js';
import type { WriterReply, WriterRequest, WriterStart } from './sqlite-writer.js';
import { decodeWriteBatch } from './write-batch-wire.js';

const { file, synchronous } = workerData as WriterStart;
const db = new Database(file);
db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
db.pragma('busy_timeout = 5000');
const commit = commandWrites(db);
const port = parentPort!;

port.on('message', (request: WriterRequest) => {
  if (request.close) {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = { id: request.id, outcome: commit(decodeWriteBatch(request.batch)) };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    reply = { id: request.id, error: { name: e.name, message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) } };
  }
  port.postMessage(reply);
});
