#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const testRoot = join(root, 'dist', 'test');

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = find(testRoot)
  .filter((f) => only.length === 0 || only.some((o) => relative(root, f).includes(o)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}
const reporter = process.env.CI === 'true' ? ['--test-reporter=spec'] : [];
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...reporter, ...flags, ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
