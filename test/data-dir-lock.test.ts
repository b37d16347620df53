import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockDataDir } from '../src/data-dir-lock.js';
import { startHarness, tempDir } from './support/courier-harness.js';

/** The compiled sources, next to this test in dist/. */
const DIST_SRC = join(fileURLToPath(import.meta.url), '..', '..', 'src');

const inUse = (error: Error & { code?: string }) => {
  assert.equal(error.code, 'COURIER_ERR_DATA_DIR_IN_USE');
  assert.match(error.message, /in use by a running courier/);
  return true;
};

describe('data directory lock', () => {
  test('one holder at a time; released, it can be taken again', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    assert.equal(readFileSync(join(dir, 'courier.pid'), 'utf8').trim(), String(process.pid));
    assert.throws(() => lockDataDir(dir), inUse);
    lock.release();
    assert.equal(existsSync(join(dir, 'courier.pid')), false);
    lockDataDir(dir).release();
  });

  test('a file left by a process that no longer runs (killed) is taken over', () => {
    const dir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'courier.pid'), gone.stdout);
    const lock = lockDataDir(dir);
    assert.equal(readFileSync(join(dir, 'courier.pid'), 'utf8').trim(), String(process.pid));
    lock.release();
  });

  test('a pid file naming a live process that holds no lock (a recycled PID) does not block the start', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'courier.pid'), `${process.ppid}\n`);
    lockDataDir(dir).release();
  });

  test('the kernel holds the lock for the process: another process is refused while it lives, and takes it once it is killed', async () => {
    const dir = tempDir();
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { lockDataDir } = await import(${JSON.stringify(pathToFileURL(join(DIST_SRC, 'data-dir-lock.js')).href)});
      lockDataDir(${JSON.stringify(dir)});
      console.log('locked');
      setInterval(() => {}, 1000);
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
      });
      assert.throws(
        () => lockDataDir(dir),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'COURIER_ERR_DATA_DIR_IN_USE');
          assert.match(error.message, new RegExp(`\\(pid ${holder.pid}\\)`));
          return true;
        },
      );
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'close');
    }
    // Killed: no cleanup ran, its pid file is still there, and its lock is gone with it.
    assert.equal(existsSync(join(dir, 'courier.pid')), true);
    lockDataDir(dir).release();
  });

  test('an unreadable pid file is taken over', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'courier.pid'), 'garbage');
    lockDataDir(dir).release();
  });

  test('a second courier on the same data directory is refused before it opens the store', async () => {
    const dir = tempDir();
    const first = await startHarness({}, dir);
    await assert.rejects(startHarness({ socket: join(tempDir(), 'other.sock') }, dir), inUse);
    assert.equal((await first.admin('GET', '/healthz')).status, 200, 'the first one is untouched');
    await first.stop();
  });

  test('a start that fails half-way (its port is taken) leaves nothing held: the next start on the directory works', async () => {
    const dir = tempDir();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = String((blocker.address() as { port: number }).port);
    try {
      await assert.rejects(startHarness({ port }, dir), /EADDRINUSE/);
    } finally {
      blocker.close();
    }
    assert.equal(existsSync(join(dir, 'courier.pid')), false, 'the lock was released');
    const next = await startHarness({}, dir);
    assert.equal((await next.admin('GET', '/healthz')).status, 200);
    await next.stop();
  });
});
