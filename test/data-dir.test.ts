import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDataDir } from '../src/data-dir.js';
import { CourierError } from '../src/errors.js';
import { startHarness, tempDir } from './support/courier-harness.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

const refused = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof CourierError, String(error));
  assert.equal(error.code, 'COURIER_ERR_DATA_DIR_UNSAFE');
  assert.match(error.message, pattern);
  return true;
};

describe('the data directory', () => {
  test('is created 0700', () => {
    const dir = join(tempDir(), 'fresh', 'data');
    prepareDataDir(dir);
    assert.equal(modeOf(dir), 0o700);
  });

  test('is refused when others can write it, naming it and the fix', () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    assert.throws(() => prepareDataDir(dir), refused(new RegExp(`Refusing the data directory ${dir}: other users can write it \\(mode 0777\\); run chmod 700 ${dir}`)));
    chmodSync(dir, 0o770);
    assert.throws(() => prepareDataDir(dir), refused(/mode 0770/));
    chmodSync(dir, 0o750);
    prepareDataDir(dir); // readable by its group is the admin socket's business, not a danger
  });

  test('is refused when another user owns it', () => {
    const dir = tempDir();
    // Root-owned directories are accepted (root could replace courier anyway): give it to someone else.
    if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
    const owner = statSync(dir).uid;
    const runningAs = owner === 65534 ? 0 : owner + 4242;
    assert.throws(() => prepareDataDir(dir, runningAs), refused(new RegExp(`belongs to another user \\(uid ${owner}\\)`)));
  });

  test('a world-writable data directory stops `courier serve` before anything is opened in it', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    await assert.rejects(startHarness({}, dir), refused(/other users can write it/));
    assert.equal(existsSync(join(dir, 'courier.db')), false);
    assert.equal(existsSync(join(dir, 'courier.pid')), false);
  });

  test('every file courier makes in it is 0600, and files left looser by an older version are tightened', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'courier.db'), '', { mode: 0o644 });
    chmodSync(join(dir, 'courier.db'), 0o644);
    const h = await startHarness({}, dir);
    try {
      await h.addAgent('perm-1'); // a write: the -wal and -shm files exist now
      for (const file of ['courier.db', 'courier.db-wal', 'courier.db-shm', 'jwt-signing-key.json', 'courier.pid', 'courier.lock']) {
        assert.equal(modeOf(join(dir, file)), 0o600, `${file} is ${modeOf(join(dir, file)).toString(8)}`);
      }
      assert.equal(modeOf(h.courier.socket), 0o660, 'the admin socket stays open to its group');
    } finally {
      await h.stop();
    }
  });
});

describe('files courier cannot use are named at start, with what to do', () => {
  test('a read-only database stops the start (it used to start, report ok, and fail every create)', async () => {
    const dir = tempDir();
    const h = await startHarness({}, dir);
    await h.courier.stop();
    const db = join(dir, 'courier.db');
    const undo = makeReadOnly(db);
    try {
      await assert.rejects(startHarness({}, dir), (error: unknown) => {
        assert.ok(error instanceof CourierError, String(error));
        assert.equal(error.code, 'COURIER_ERR_STORE_READ_ONLY');
        assert.match(error.message, new RegExp(`The database ${db} cannot be written .*check its owner, its mode and that its filesystem is mounted read-write`));
        return true;
      });
    } finally {
      undo();
    }
    // Nothing was left held: once writable again, it starts.
    const again = await startHarness({}, dir);
    await again.stop();
  });

  test('a corrupt jwt-signing-key.json stops the start with the file and the remedy', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'jwt-signing-key.json'), '{"kty":"RSA","d":', { mode: 0o600 });
    await assert.rejects(startHarness({}, dir), (error: unknown) => {
      assert.ok(error instanceof CourierError, String(error));
      assert.equal(error.code, 'COURIER_ERR_CORRUPT_FILE');
      assert.match(
        error.message,
        new RegExp(`^${join(dir, 'jwt-signing-key.json')} cannot be read \\(not JSON: .*\\): restore it from a backup, or delete it to have a new key made`),
      );
      return true;
    });
    writeFileSync(join(dir, 'jwt-signing-key.json'), '{"kty":"EC"}');
    await assert.rejects(startHarness({}, dir), /not an RSA private key/);
  });
});

/**
 * Makes one file read-only to this process: a read-only bind mount when running as root (root
 * writes through any file mode), its mode otherwise. Returns how to undo it.
 */
function makeReadOnly(file: string): () => void {
  if (process.getuid?.() !== 0) {
    chmodSync(file, 0o400);
    return () => chmodSync(file, 0o600);
  }
  execFileSync('mount', ['--bind', file, file]);
  execFileSync('mount', ['-o', 'remount,bind,ro', file]);
  return () => execFileSync('umount', [file]);
}
