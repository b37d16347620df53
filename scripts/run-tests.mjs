#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

// The OpenSearch tier (files that call openSearchTier()) shares one real OpenSearch node, started
// here once and stopped at the end; its URL reaches the test processes in the environment.
const env = { ...process.env };
const needsOpenSearch = files.some((f) => readFileSync(f, 'utf8').includes('openSearchTier('));
let openSearch;
if (needsOpenSearch && !env.COURIER_TEST_OPENSEARCH_URL) {
  const support = join(testRoot, 'support');
  const { openSearchUnavailableReason, startOpenSearchNode } = await import(pathToFileURL(join(support, 'opensearch-node.js')).href);
  const { skipBanner } = await import(pathToFileURL(join(support, 'opensearch-tier.js')).href);
  const reason = openSearchUnavailableReason();
  if (reason !== null) {
    // Under CI=true the tier's tests fail instead of skipping.
    console.warn(process.env.CI === 'true' ? `\nOpenSearch test tier cannot run in CI: ${reason}\n` : skipBanner(reason));
    env.COURIER_TEST_OPENSEARCH_SKIPPED = reason;
  } else {
    openSearch = await startOpenSearchNode();
    console.log(`# OpenSearch test node ready at ${openSearch.url} in ${openSearch.startMs} ms (shared by the OpenSearch tier)`);
    env.COURIER_TEST_OPENSEARCH_URL = openSearch.url;
  }
}

const reporter = process.env.CI === 'true' ? ['--test-reporter=spec'] : [];
// A test that waits for something that never comes fails after five minutes, naming itself, instead
// of holding the whole run until CI's own limit.
const timeout = flags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=300000'];
// Not spawnSync: this process must keep reading the OpenSearch node's output while the tests run.
const child = spawn(process.execPath, ['--enable-source-maps', '--test', ...reporter, ...timeout, ...flags, ...files], {
  stdio: 'inherit',
  cwd: root,
  env,
});
let status = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));

// The agents API's tests once more, every courier serving its agents through two connection
// workers (--workers 2): the same behaviour is required of both modes. In a whole run only.
const WITH_WORKERS = [
  'dist/test/agents-api/',
  'dist/test/http/unauthenticated-connections.test.js',
  'dist/test/e2e/tls.test.js',
  'dist/test/e2e/crash-recovery.test.js',
  'dist/test/e2e/idempotent-retry.test.js',
];
const workerFiles = only.length === 0 ? files.filter((f) => WITH_WORKERS.some((w) => relative(root, f).startsWith(w))) : [];
if (workerFiles.length > 0) {
  console.log(`\n# the agents API's tests again, with --workers 2 (${workerFiles.length} files)`);
  const again = spawn(process.execPath, ['--enable-source-maps', '--test', ...reporter, ...timeout, ...flags, ...workerFiles], {
    stdio: 'inherit',
    cwd: root,
    env: { ...env, COURIER_TEST_WORKERS: '2' },
  });
  const workersStatus = await new Promise((resolve) => again.once('exit', (code) => resolve(code ?? 1)));
  if (status === 0) status = workersStatus;
}
await openSearch?.stop();
process.exit(status);
