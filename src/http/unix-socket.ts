import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { errors } from '../errors.js';

/** Whether a process accepts connections on the Unix socket at `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Makes `path` free for a new socket: a stale socket file left by a crash is removed; a live one
 * (another courier still running) is refused with a clear error; anything that is not a socket is
 * never deleted.
 */
export async function claimSocketPath(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw errors.CONFIG(`${path} exists and is not a Unix socket; refusing to replace it`);
  if (await isLive(path)) throw errors.SOCKET_IN_USE(path);
  unlinkSync(path);
}

/**
 * Runs `listen` (which creates the socket file) with a umask that leaves the file 0660 from its
 * first moment, then sets the mode explicitly as well.
 */
export async function listenOnSocket(path: string, listen: () => Promise<unknown>): Promise<void> {
  await claimSocketPath(path);
  const previous = process.umask(0o117);
  try {
    await listen();
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o660);
}
