import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Courier runs with V8 flags of its own (a larger young generation: docs/performance.md). Node
// takes them only on its command line, so every launcher passes them: the launcher's first line,
// `npm start` and the container image's entrypoint must pass the same ones, and the launcher must
// run as a program with them.

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const launcher = join(root, 'bin', 'courier.js');
const flagsIn = (words: string[]) => words.filter((w) => w.startsWith('--'));

const shebang = readFileSync(launcher, 'utf8').split('\n')[0]!;
const launcherFlags = flagsIn(shebang.split(/\s+/));

test("the launcher's first line runs node with courier's flags", () => {
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
  assert.deepEqual(launcherFlags, ['--max-semi-space-size=64']);
});

test('npm start and the container image pass the same flags as the launcher', () => {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const nodeCommand = start.split('&&').find((part) => part.trim().startsWith('node '))!;
  assert.deepEqual(flagsIn(nodeCommand.trim().split(/\s+/)), launcherFlags);
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8'))![1]!;
  assert.deepEqual(flagsIn(JSON.parse(entrypoint) as string[]), launcherFlags);
});

test('the launcher runs as a program, with the flags in effect', () => {
  // A module preloaded through NODE_OPTIONS tells the flags node was started with.
  const report = `data:text/javascript,${encodeURIComponent("process.on('exit', () => process.stderr.write('execArgv=' + process.execArgv.join(' ') + '\\n'))")}`;
  const run = spawnSync(launcher, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--import=${report}` } });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^\d+\.\d+\.\d+/);
  assert.match(run.stderr, new RegExp(`^execArgv=${launcherFlags.join(' ')}$`, 'm'));
});
