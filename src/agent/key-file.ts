import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tightenIfPresent } from '../data-dir.js';

/** What an enrolled agent keeps: its id and its key, and with mutual TLS its client certificate and that certificate's key (PEM). */
export interface AgentCredentials {
  id: string;
  key: string;
  certificate?: string;
  certificateKey?: string;
}

/**
 * The agent's credentials from its key file; null when there is none. A file that others may read
 * is tightened to 0600 first (`tightened`), as courier does with its own secrets.
 */
export function readKeyFile(path: string): { credentials: AgentCredentials; tightened: boolean } | null {
  let text: string;
  let tightened: boolean;
  try {
    tightened = tightenIfPresent(path);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const { id, key, certificate, certificateKey } = (parsed ?? {}) as Partial<AgentCredentials>;
  if (typeof id !== 'string' || typeof key !== 'string' || id === '' || key === '') {
    throw new Error(`${path} holds no agent credentials ({"id","key"}); remove it to enroll again`);
  }
  const tls = typeof certificate === 'string' && typeof certificateKey === 'string' ? { certificate, certificateKey } : {};
  return { credentials: { id, key, ...tls }, tightened };
}

/** A key file created (empty, 0600) before the agent enrolls, so that its credentials are never lost or shown. */
export interface ReservedKeyFile {
  write(credentials: AgentCredentials): void;
  /** Enrollment failed: the empty file goes. */
  abandon(): void;
}

/**
 * Creates the key file with mode 0600 from the start (never a moment readable by others), and only
 * if it does not exist (`wx`): two agents started with the same file cannot both enroll into it.
 */
export function reserveKeyFile(path: string): ReservedKeyFile {
  const fd = openSync(path, 'wx', 0o600);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write(credentials) {
      const { id, key, certificate, certificateKey } = credentials;
      writeSync(fd, `${JSON.stringify({ id, key, ...(certificate && certificateKey ? { certificate, certificateKey } : {}) })}\n`);
      fsyncSync(fd);
      close();
    },
    abandon() {
      close();
      rmSync(path, { force: true });
    },
  };
}
