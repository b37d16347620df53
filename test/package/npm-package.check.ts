import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

// The packaging checks (`npm run test:package`; .ci/run runs them after the suite): the package
// `npm pack` makes installs into an empty prefix and runs there — `courier --version`, and a short
// `courier serve` that answers /healthz and stops on SIGTERM — and the systemd unit in deploy/
// passes `systemd-analyze verify` pointed at that installed binary. Slow (the install compiles
// better-sqlite3), so not part of `npm test`.

const run = promisify(execFile);
const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const scratch = mkdtempSync(join(tmpdir(), 'courier-package-'));
const prefix = join(scratch, 'prefix');
const courier = join(prefix, 'bin', 'courier');

describe('the npm package', () => {
  let tarball = '';
  let files: string[] = [];
  before(async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(scratch, info!.filename);
    files = info!.files.map((f) => f.path);
    // Only better-sqlite3 may run an install script (it builds its native module); courier itself has none.
    await run('npm', ['install', '--global', '--prefix', prefix, '--allow-scripts=better-sqlite3', '--no-audit', '--no-fund', tarball], { maxBuffer: 64 * 1024 * 1024 });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('holds the compiled runtime, the console, the deployment files and the pinned dependency tree; no tests, no TypeScript sources', () => {
    for (const needed of [
      'bin/courier.js',
      'dist/src/cli/main.js',
      'dist/machines/command.machine.js',
      'dist/src/console/page/main.js',
      'deploy/courier.service',
      'deploy/Dockerfile',
      'npm-shrinkwrap.json',
      'README.md',
    ]) {
      assert.ok(files.includes(needed), `${needed} is not in the package`);
    }
    assert.deepEqual(
      files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('src/') || f.endsWith('.map')),
      [],
    );
  });

  test('installed globally, `courier --version` prints its version', async () => {
    const { stdout } = await run(courier, ['--version']);
    assert.equal(stdout.trim(), version);
  });

  test('`courier serve` runs from the installed package: /healthz and the console answer, SIGTERM stops it cleanly', async () => {
    const dataDir = join(scratch, 'data');
    const child = spawn(courier, ['serve', '--data-dir', dataDir, '--port', '0', '--management-port', '0', '--insecure-http', '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const consoleUrl = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += String(chunk);
        const found = /web console: (\S+)/.exec(stderr);
        if (found) resolve(found[1]!);
      });
      child.once('exit', (code) => reject(new Error(`courier serve exited (${code}) before it listened:\n${stderr}`)));
    });
    try {
      const health = await fetch(new URL('/healthz', consoleUrl));
      assert.equal(health.status, 200);
      const page = await fetch(consoleUrl);
      assert.equal(page.status, 200);
      assert.equal((await fetch(new URL('/console/assets/main.js', consoleUrl))).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  test('the systemd unit passes `systemd-analyze verify`', { skip: !analyze && process.env.CI !== 'true' ? 'systemd-analyze is not installed' : false }, async () => {
    // Pointed at the binary just installed (the unit names /usr/bin/courier, where a global install puts it).
    const unit = join(scratch, 'courier.service');
    writeFileSync(unit, readFileSync(join(root, 'deploy', 'courier.service'), 'utf8').replace('/usr/bin/courier', courier));
    const verified = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(verified.stderr.trim(), '', 'no warnings');
  });
});
