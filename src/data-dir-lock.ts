import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errors } from './errors.js';

/** The data directories this process holds (two couriers in one process, as in tests, must not share one). */
const heldHere = new Set<string>();

export interface DataDirLock {
  release(): void;
}

/**
 * Claims a data directory for this process before anything in it is opened: `courier.pid`,
 * created exclusively, names the owner. A second courier on the same directory is refused
 * before it could recover (and rewrite) the first one's commands. A file left by a process
 * that no longer runs (killed with SIGKILL) is taken over, as PostgreSQL does with its
 * postmaster.pid.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const file = join(dir, 'courier.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(dir);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          heldHere.delete(dir);
          if (ownerOf(file) === process.pid) unlinkSync(file);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = ownerOf(file);
      const inUse = owner !== null && isRunning(owner) && (owner !== process.pid || heldHere.has(dir));
      // A second attempt that still finds the file lost a race with another starting courier.
      if (inUse || attempt > 0) throw errors.DATA_DIR_IN_USE(dir, owner ?? 0);
      // Stale: its owner is gone (or unreadable garbage). Take it over.
      unlinkSync(file);
    }
  }
}

function ownerOf(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
