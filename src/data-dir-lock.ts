import { readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateFile, writePrivateFile } from './data-dir.js';
import { errors } from './errors.js';

export interface DataDirLock {
  release(): void;
}

/**
 * Claims a data directory for this process before anything in it is opened, so that a second
 * courier on the same directory is refused before it could recover (and rewrite) the first one's
 * commands.
 *
 * The claim is a lock the kernel holds for the process: SQLite's exclusive locking mode on
 * `courier.lock` (a POSIX lock on the file, kept until the connection closes or the process ends,
 * whatever ends it). So a dead, killed or zombie courier never blocks a restart, and a recycled
 * PID never fakes a live one. `courier.pid` only says who holds it, for the error message.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const file = join(dir, 'courier.lock');
  const pidFile = join(dir, 'courier.pid');
  ensurePrivateFile(file);
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this mode it is kept after the commit.
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    db.close();
    if (String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw errors.DATA_DIR_IN_USE.causedBy(error, dir, holderOf(pidFile));
    throw error;
  }
  // Written whole or not at all (a reader must never see half a number).
  writePrivateFile(pidFile, `${process.pid}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      if (holderOf(pidFile) === process.pid) unlinkSync(pidFile);
      db.close();
    },
  };
}

function holderOf(pidFile: string): number {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
