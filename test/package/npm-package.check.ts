import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

// The packaging checks (`npm run test:package`; .ci/run runs them after the suite): the package
// `npm pack` makes installs into an empty prefix and runs there — `courier --version`, and a short
// `courier serve` that answers /healthz and stops on SIGTERM — and the systemd unit in deploy/
// passes `systemd-analyze verify` pointed at that installed binary; and a TypeScript project using
// the installed package as a library compiles with `tsc --strict` and runs. Slow (the install
// compiles better-sqlite3), so not part of `npm test`.

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
      'dist/src/index.js',
      'dist/types/src/index.d.ts',
      'dist/types/src/library/courier-api.d.ts',
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

  test('as a library: a TypeScript project using the installed package compiles createCourier with tsc --strict, runs it, and reaches nothing past the exports map', async () => {
    const project = join(scratch, 'embedder');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    // The package installed from the tarball above, with the dependencies its install brought, as the project's own.
    symlinkSync(join(prefix, 'lib', 'node_modules', 'courier'), join(project, 'node_modules', 'courier'), 'dir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'embedder', private: true, type: 'module' }));
    // Nothing is installed for the compile: the repository's TypeScript, and its Node types (a project of its own has them).
    const compilerOptions = {
      strict: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      outDir: 'dist',
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      // The package's declarations, and those they import (fastify's, pino's), are checked too.
      skipLibCheck: false,
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }));
    writeFileSync(join(project, 'main.ts'), EMBEDDER);
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const compiled = spawnSync(tsc, ['-p', project], { encoding: 'utf8' });
    assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);
    const { stdout } = await run(process.execPath, [join(project, 'dist', 'main.js'), join(scratch, 'embedder-data')], { timeout: 120_000 });
    assert.deepEqual(JSON.parse(stdout), { status: 'success', result: 'cache refreshed', route: { socket: join(scratch, 'embedder-data', 'courier.sock') } });
    // The runtime's modules are not the package's API: a deep import neither compiles nor loads.
    writeFileSync(join(project, 'deep.ts'), "import { startCourier } from 'courier/dist/src/courier.js';\nconsole.log(startCourier);\n");
    writeFileSync(join(project, 'tsconfig.deep.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, files: ['deep.ts'] }));
    const deep = spawnSync(tsc, ['-p', join(project, 'tsconfig.deep.json')], { encoding: 'utf8' });
    assert.notEqual(deep.status, 0);
    assert.match(deep.stdout, /TS2307: Cannot find module 'courier\/dist\/src\/courier\.js'/);
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('courier/dist/src/courier.js')"], { cwd: project, encoding: 'utf8' });
    assert.match(loaded.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
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

/** A program embedding courier, as its documentation shows it: every part of the API used once, typed. */
const EMBEDDER = `import { createCourier, CourierError, type AdminPlugin, type CommandOutcome, type CommandView } from 'courier';

const courier = await createCourier({ dataDir: process.argv[2]!, host: '127.0.0.1', port: 0, managementPort: 0, insecureHttp: true, logLevel: 'silent' });
const routes: AdminPlugin = async (app) => {
  app.get('/where', async (request) => ({ socket: request.courier.admin.socket }));
};
await courier.admin.register(routes, { prefix: '/api/v1/embedder' });
const subscription = courier.subscribe({ type: 'server', id: 'embedder' }, async (command: CommandView): Promise<CommandOutcome> => ({ code: 0, message: \`cache refreshed\` }));
const seen: string[] = [];
const stop = courier.events.listen((event) => void seen.push(event.kind));
const [made] = await courier.commands.submit([{ source: 'embedder', target: { type: 'server', id: 'embedder' }, action: { name: 'refresh' }, timeout: 60 }], { who: 'user:embedder' });
let view = await courier.commands.get(made!.document_id);
while (view?.status !== 'success') {
  await new Promise((resolve) => setTimeout(resolve, 20));
  view = await courier.commands.get(made!.document_id);
}
const { request } = await import('node:http');
const route = await new Promise<unknown>((resolve, reject) =>
  request({ socketPath: courier.admin.socket, path: '/api/v1/embedder/where' }, (res) => {
    let text = '';
    res.on('data', (chunk: Buffer) => (text += String(chunk)));
    res.on('end', () => resolve(JSON.parse(text)));
  })
    .on('error', reject)
    .end(),
);
try {
  await courier.commands.cancel('no-such-command');
} catch (error) {
  if (!(error instanceof CourierError) || error.code !== 'COURIER_ERR_COMMAND_NOT_FOUND') throw error;
}
stop();
await subscription.close();
await courier.close();
console.log(JSON.stringify({ status: view.status, result: view.result?.message, route }));
`;
