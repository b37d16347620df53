import { chmodSync, closeSync, mkdirSync, openSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { errors } from './errors.js';

/**
 * The data directory holds the database (commands, agents' key hashes, API key hashes), the
 * agents' token signing key and the admin socket. Whoever can write it can read the database,
 * move the socket away and answer producers in courier's place, or swap the signing key. So, as
 * OpenSSH does with its keys, courier makes it 0700 when it creates it, and refuses to start on
 * one that other users can write or that another user owns.
 */
export function prepareDataDir(dir: string, uid = process.getuid?.()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw errors.DATA_DIR_UNSAFE(dir, 'it is not a directory');
  if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
    throw errors.DATA_DIR_UNSAFE(dir, `it belongs to another user (uid ${stat.uid}); run courier as that user or chown it`);
  }
  const mode = stat.mode & 0o777;
  if (mode & 0o022) {
    throw errors.DATA_DIR_UNSAFE(dir, `other users can write it (mode ${mode.toString(8).padStart(4, '0')}); run chmod 700 ${dir}`);
  }
}

/** Tightens `file` to 0600 if it exists and is looser (files an older version left); true when it did. */
export function tightenIfPresent(file: string): boolean {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if ((mode & 0o077) === 0) return false;
  chmodSync(file, 0o600);
  return true;
}

/**
 * Makes `file` exist with mode 0600 before anything else opens it (SQLite gives the database's
 * -wal and -shm files the database's own mode), and tightens a file left looser by an older version.
 * Returns true when it had to tighten it.
 */
export function ensurePrivateFile(file: string): boolean {
  closeSync(openSync(file, 'a', 0o600));
  return tightenIfPresent(file);
}

/** Writes `text` to `file`, mode 0600, whole or not at all: a crash while writing never leaves half a file (a key, a pid) behind. */
export function writePrivateFile(file: string, text: string): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, text, { mode: 0o600 });
  renameSync(partial, file);
}
