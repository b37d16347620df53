import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './courier-harness.js';

/**
 * A real, small filesystem (tmpfs) to run courier's data directory on, so that "disk full" is the
 * kernel's ENOSPC and SQLite's own SQLITE_FULL, not a fake. Mounting needs root (CI runs as root);
 * elsewhere the tests that need it are skipped loudly, and under CI=true they fail instead.
 */
export interface SmallFilesystem {
  dir: string;
  /** Fills the free space with a file, until writes fail with ENOSPC. */
  fill(): void;
  /** Removes the filler: there is room again. */
  free(): void;
  unmount(): void;
}

let unavailable: string | null | undefined;

/** Why a tmpfs cannot be mounted here, or null when it can. */
export function smallFilesystemUnavailableReason(): string | null {
  if (unavailable !== undefined) return unavailable;
  try {
    const probe = mountTmpfs(1);
    probe.unmount();
    unavailable = null;
  } catch (error) {
    unavailable = `cannot mount a tmpfs (needs root): ${(error as Error).message.split('\n')[0]}`;
  }
  return unavailable;
}

/** For `describe(name, { skip })`: false, or why; under CI the tests run and fail instead of skipping. */
export function smallFilesystemSkip(): string | false {
  const reason = smallFilesystemUnavailableReason();
  if (reason === null || process.env.CI === 'true') return false;
  const bar = '!'.repeat(80);
  console.warn(['', bar, `!!  disk-full tests SKIPPED: ${reason}`, '!!  Run the suite as root to run them.', bar, ''].join('\n'));
  return `disk-full tests skipped: ${reason}`;
}

export function mountTmpfs(megabytes: number): SmallFilesystem {
  const dir = tempDir('courier-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
