#!/usr/bin/env node
// Runs the test OpenSearch node in the foreground: `npm run opensearch -- [--port N] [--data DIR] [--log-level info] [--distribution-jvm]`.
// Builds it first if needed (scripts/build-opensearch-node.sh). Default port: a free one (0), printed
// on the OPENSEARCH_READY line. Ctrl-C / SIGTERM stop it cleanly. See docs/opensearch-test-node.md.
import { spawn, spawnSync } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const usage = 'usage: npm run opensearch -- [--port N] [--data DIR] [--log-level LEVEL] [--distribution-jvm]';

let port = '0';
let data;
let logLevel = 'warn';
// The test suite's JVM starts fast (C1 only, serial GC, small heap) and runs slower; an OpenSearch
// distribution's (G1, full JIT, 1 GB heap) is what a benchmark of the cluster's CPU must measure.
let distributionJvm = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const value = () => {
    if (i + 1 >= argv.length) fail(`${argv[i]} needs a value\n${usage}`);
    return argv[++i];
  };
  switch (argv[i]) {
    case '--port':
      port = value();
      break;
    case '--data':
      data = resolve(value());
      break;
    case '--log-level':
      logLevel = value();
      break;
    case '--distribution-jvm':
      distributionJvm = true;
      break;
    case '-h':
    case '--help':
      console.log(usage);
      process.exit(0);
      break;
    default:
      fail(`unknown argument ${argv[i]}\n${usage}`);
  }
}
if (!/^\d+$/.test(port) || Number(port) > 65535) fail(`--port must be 0..65535\n${usage}`);

const build = spawnSync('bash', [join(root, 'scripts', 'build-opensearch-node.sh')], { stdio: 'inherit' });
if (build.status !== 0) fail('building the OpenSearch test node failed');

const target = join(root, 'test', 'opensearch-node', 'target');
const args = [
  // Same JVM flags as test/support/opensearch-node.ts, or an OpenSearch distribution's (jvm.options).
  ...(distributionJvm ? ['-Xms1g', '-Xmx1g', '-XX:+UseG1GC'] : ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']),
  '-Djava.awt.headless=true',
  '-cp',
  [join(target, 'classes'), join(target, 'lib', '*')].join(delimiter),
  'dev.courier.testnode.OpenSearchTestNode',
  '--port',
  port,
  '--log-level',
  logLevel,
  // stdin is a pipe from this process, so the JVM also goes away if this process is killed.
  '--exit-on-stdin-eof',
  ...(data ? ['--data', data] : []),
];
const child = spawn('java', args, { stdio: ['pipe', 'inherit', 'inherit'] });
child.on('error', (err) => fail(`cannot start java: ${err.message}`));

let forwarded = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    forwarded = true;
    child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  // Exiting because we asked it to is a success; anything else is passed on.
  if (forwarded) process.exit(0);
  if (signal) {
    console.error(`opensearch test node killed by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});

function fail(message) {
  console.error(message);
  process.exit(1);
}
