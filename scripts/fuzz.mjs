#!/usr/bin/env node
// The fuzz tier: schemathesis against the OpenAPI documents that a real courier node serves on its
// three listeners (agents API, management API, admin socket), each for a fixed time.
//
//   npm run fuzz                          # builds, then 120 s per API
//   COURIER_FUZZ_SECONDS=30 npm run fuzz  # shorter (or longer) per API
//   COURIER_FUZZ_APIS=agents,admin        # a subset of agents, management, admin
//   COURIER_FUZZ_PYTHON=python3.12        # the interpreter that creates the virtualenv
//   COURIER_FUZZ_CHECKS=all               # other schemathesis checks (default: no 5xx, statuses and bodies as documented)
//
// schemathesis is installed, pinned, into a virtualenv under dist/ (made once, reused). Without a
// usable Python the tier says loudly that it is skipped and exits 0; with CI=true it fails instead.
// Each run leaves its reports (JSON, JUnit, schemathesis' output, courier's log) in dist/fuzz-report/.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCHEMATHESIS_VERSION = '4.32.5';
const DEFAULT_CHECKS = ['not_a_server_error', 'status_code_conformance', 'response_schema_conformance'];
const SEED = 1;
const APIS = ['agents', 'management', 'admin'];
// An agent's token lives 900 s and is issued once, before the agents API is fuzzed.
const TOKEN_LIFETIME_S = 900;

const root = join(fileURLToPath(import.meta.url), '..', '..');
const helpers = join(root, 'scripts', 'fuzz');
const constraints = join(helpers, 'constraints.txt');
const venv = join(root, 'dist', 'fuzz-venv');
const reportRoot = join(root, 'dist', 'fuzz-report');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const ci = process.env.CI === 'true';

const seconds = Number(process.env.COURIER_FUZZ_SECONDS ?? '120');
if (!Number.isInteger(seconds) || seconds < 1) fatal(`COURIER_FUZZ_SECONDS must be a whole number of seconds, got "${process.env.COURIER_FUZZ_SECONDS}"`);
const apis = (process.env.COURIER_FUZZ_APIS ?? APIS.join(','))
  .split(',')
  .map((a) => a.trim())
  .filter(Boolean);
for (const api of apis) if (!APIS.includes(api)) fatal(`COURIER_FUZZ_APIS: unknown API "${api}" (one of ${APIS.join(', ')})`);
const python = process.env.COURIER_FUZZ_PYTHON || 'python3';
const CHECKS = process.env.COURIER_FUZZ_CHECKS ? process.env.COURIER_FUZZ_CHECKS.split(',') : DEFAULT_CHECKS;

if (!existsSync(cli)) fatal(`${cli} is missing: run "npm run build" first (npm run fuzz does)`);

const installed = prepareVenv();
if ('skip' in installed) skip(installed.skip);
const schemathesis = join(venv, 'bin', 'schemathesis');

rmSync(reportRoot, { recursive: true, force: true });
mkdirSync(reportRoot, { recursive: true });
const courier = await startCourier();
const cleanups = [() => courier.stop()];
let interrupted = false;
/** The schemathesis process running now, if any. */
let fuzzing;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    fuzzing?.kill(signal);
    void Promise.allSettled(cleanups.map((c) => c())).then(() => process.exit(130));
  });
}

let results;
try {
  const relay = await startRelay(courier.socket);
  cleanups.push(() => relay.close());
  const fixtures = await createFixtures(courier, relay.url);
  if (apis.includes('agents') && seconds > TOKEN_LIFETIME_S - 60) {
    console.warn(`# note: the agent's token lasts ${TOKEN_LIFETIME_S} s; past that the agents API answers the fuzzer 401`);
  }
  // The agents API first: the other two can remove the fuzz agent (and, on the admin socket, the API key).
  const targets = {
    agents: { title: 'agents API', base: courier.url, auth: fixtures.token },
    management: { title: 'management API', base: courier.managementUrl, auth: fixtures.apiKey },
    admin: { title: 'admin socket (through a loopback relay)', base: relay.url, auth: null },
  };
  results = [];
  for (const api of APIS.filter((a) => apis.includes(a))) {
    if (interrupted) break;
    results.push(await fuzz(api, targets[api], fixtures, courier));
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}

const serverErrors = courier.errors();
console.log('\n== fuzz tier: summary ==');
console.log(`schemathesis ${SCHEMATHESIS_VERSION}, seed ${SEED}, ${seconds} s per API, checks ${CHECKS.join(', ')}`);
for (const r of results) {
  console.log(
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.api.padEnd(10)} ${String(r.cases).padStart(6)} cases  ${String(r.failures).padStart(3)} failures  ${String(r.errors).padStart(3)} errors  ${r.seconds.toFixed(0).padStart(4)} s  (exit ${r.exitCode})`,
  );
  for (const f of r.failureTitles) console.log(`       - ${f}`);
}
if (serverErrors.length > 0) {
  console.log(`courier logged ${serverErrors.length} error(s) during the run (distinct ones below; full log in ${join(reportRoot, 'courier.log')}):`);
  for (const line of [...new Set(serverErrors)].slice(0, 20)) console.log(`       ${line}`);
}
console.log(`reports: ${reportRoot}`);
const failed = results.some((r) => !r.ok) || courier.exitedEarly();
// The closing line: one pass or failure per API fuzzed.
console.log(`fuzz: ${results.filter((r) => r.ok).length} passed, ${results.filter((r) => !r.ok).length} failed`);
process.exit(failed ? 1 : 0);

// ---- the virtualenv ------------------------------------------------------------------------

/** Creates (or reuses) the virtualenv with the pinned schemathesis; `{skip}` says why it cannot. */
function prepareVenv() {
  const probe = spawnSync(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  if (probe.error) return { skip: `no Python interpreter: "${python}" ${probe.error.code === 'ENOENT' ? 'is not installed' : `cannot run (${probe.error.message})`}` };
  if (probe.status !== 0) return { skip: `"${python}" does not run: ${tail(probe.stderr) || `exit ${probe.status}`}` };
  const version = probe.stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (major < 3 || (major === 3 && minor < 11)) return { skip: `schemathesis ${SCHEMATHESIS_VERSION} needs Python 3.11 or newer; "${python}" is ${version}` };

  // What the venv was made from: a change of any of these makes it again.
  const want = createHash('sha256')
    .update(`${SCHEMATHESIS_VERSION}\n${version}\n${readFileSync(constraints, 'utf8')}`)
    .digest('hex');
  const stamp = join(venv, '.courier-fuzz-stamp');
  const venvPython = join(venv, 'bin', 'python');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && reportsVersion()) {
    console.log(`# schemathesis ${SCHEMATHESIS_VERSION} (virtualenv reused: ${rel(venv)})`);
    return {};
  }
  console.log(`# installing schemathesis ${SCHEMATHESIS_VERSION} into ${rel(venv)} (Python ${version}) …`);
  const made = spawnSync(python, ['-m', 'venv', '--clear', venv], { encoding: 'utf8' });
  if (made.status !== 0) {
    return { skip: `"${python} -m venv" failed (on Debian: apt-get install python3-venv): ${tail(made.stderr || made.stdout || String(made.error))}` };
  }
  const pip = spawnSync(
    venvPython,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--constraint', constraints, `schemathesis==${SCHEMATHESIS_VERSION}`],
    { encoding: 'utf8' },
  );
  if (pip.status !== 0) return { skip: `pip could not install schemathesis ${SCHEMATHESIS_VERSION}: ${tail(pip.stderr || pip.stdout || String(pip.error))}` };
  if (!reportsVersion()) return { skip: `schemathesis ${SCHEMATHESIS_VERSION} installed but does not run` };
  writeFileSync(stamp, want);
  return {};
}

function reportsVersion() {
  const run = spawnSync(join(venv, 'bin', 'schemathesis'), ['--version'], { encoding: 'utf8' });
  return run.status === 0 && run.stdout.includes(SCHEMATHESIS_VERSION);
}

// ---- the courier node ----------------------------------------------------------------------

/** `courier serve` on a fresh data directory and ephemeral loopback ports; resolves once it runs. */
async function startCourier() {
  const dataDir = mkdtempSync(join(tmpdir(), 'courier-fuzz-'));
  // The node is configured here and only here, not by whatever COURIER_* the caller has set.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('COURIER_')));
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--management-host', '127.0.0.1', '--management-port', '0'];
  // Plain HTTP: the fuzzer tests the routes; TLS has tests of its own.
  args.push('--data-dir', dataDir, '--long-poll-timeout', '1s', '--log-level', 'info', '--node', 'fuzz', '--insecure-http');
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(join(reportRoot, 'courier.log'));
  child.stderr.pipe(log, { end: false });
  const errors = [];
  let stopping = false;
  let exitCode;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exitCode = code ?? signal))));
  const running = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'courier is running') resolve(entry);
      // Errors (level 50) and worse: what a 5xx left behind.
      if (entry.level >= 50) errors.push(`${entry.msg}${entry.err ? `: ${entry.err.type ?? ''} ${entry.err.message ?? ''}` : ''}`.trim());
    });
    void exited.then((code) => reject(new Error(`courier exited (${code}) before it was running; see ${join(reportRoot, 'courier.log')}`)));
  });
  const entry = await running;
  console.log(`# courier running: agents API ${entry.url}, management API ${entry.managementUrl}, admin socket ${entry.socket}`);
  return {
    url: entry.url,
    managementUrl: entry.managementUrl,
    socket: entry.socket,
    errors: () => errors,
    exitedEarly: () => exitCode !== undefined && !stopping,
    async stop() {
      if (exitCode === undefined) {
        stopping = true;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      } else if (!stopping) {
        console.error(`courier exited (${exitCode}) during the run; see ${join(reportRoot, 'courier.log')}`);
      }
      await new Promise((resolve) => log.end(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * schemathesis speaks TCP only: a loopback port piped to the admin Unix socket.
 *
 * Courier answers some requests before it has read their body (413 to a body over the limit) and
 * then closes the socket; the client's next write fails (EPIPE) while the answer is still unread
 * in the socket. A net.Socket destroys itself on that failed write, and its stream refuses to read
 * on: the answer would be lost, and the client shown a reset that courier's own TCP listeners never
 * cause. So the answer is read with `onread` (a callback, outside the stream), and a failed write
 * closes the Unix socket only once what is in it has been read.
 */
async function startRelay(socketPath) {
  const connections = new Set();
  const server = createServer((client) => {
    connections.add(client);
    const finish = () => {
      client.end();
      client.resume();
    };
    const upstream = connect({
      path: socketPath,
      onread: { buffer: Buffer.alloc(64 * 1024), callback: (n, buf) => void client.write(Buffer.from(buf.subarray(0, n))) },
    });
    const destroy = upstream.destroy.bind(upstream);
    upstream.destroy = (error) => {
      if (error?.code !== 'EPIPE') return destroy(error);
      client.unpipe(upstream);
      setTimeout(() => destroy(), 200);
      return upstream;
    };
    upstream
      .on('end', finish)
      .on('close', finish)
      .on('error', () => {});
    client.on('error', () => client.destroy());
    client.on('close', () => {
      upstream.destroy();
      connections.delete(client);
    });
    client.pipe(upstream);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const c of connections) c.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---- fixtures ------------------------------------------------------------------------------

async function call(base, method, path, { body, auth } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/**
 * What the fuzzer needs to get past authentication and to reach real data: an admin API key, two
 * agents and a token, and commands in every state a result can meet (pending, delivered, success,
 * failure, cancelled), to agents, a group and a server component: enough delivered ones that
 * generated results are recorded, not only ignored. Their ids go into schemathesis' dictionaries,
 * so that some generated requests name things that exist.
 */
async function createFixtures(node, admin) {
  const key = await call(admin, 'POST', '/api/v1/keys', { body: { role: 'admin', name: 'fuzz' } });
  const agentKey = (await call(admin, 'POST', '/api/v1/agents', { body: { id: 'fuzz-agent', groups: ['fuzz'] } })).key;
  await call(admin, 'POST', '/api/v1/agents', { body: { id: 'fuzz-agent-2', groups: ['fuzz', 'other'] } });
  const { token } = await call(node.url, 'POST', '/api/v1/authentication', { body: { uuid: 'fuzz-agent', key: agentKey } });
  const spec = (target, name, args = {}) => ({ source: 'Users/Services', user: 'fuzz', target, action: { name, args, version: '5.0.0' }, timeout: 3600 });
  const send = async (commands) => (await call(admin, 'POST', '/api/v1/commands', { body: { commands } })).commands;
  const agent = (id) => ({ type: 'agent', id });
  const server = { type: 'server', id: 'fuzz-module' };
  const created = await send([
    ...Array.from({ length: 40 }, (_, i) => spec(agent('fuzz-agent'), i % 2 ? 'restart' : 'fetch-config')),
    spec({ type: 'group', id: 'fuzz' }, 'set-group', { groups: ['fuzz'] }),
    ...Array.from({ length: 20 }, () => spec(server, 'reload')),
  ]);
  // The agent and the server component take their commands (long-polls) and report a success and a failure each.
  const delivered = (await call(node.url, 'GET', '/api/v1/commands', { auth: token })).commands;
  const claimed = (await call(admin, 'GET', '/api/v1/commands?target_type=server&target_id=fuzz-module')).commands;
  const report = (a, b) => ({
    results: [
      { document_id: a.document_id, code: 0, message: 'done' },
      { document_id: b.document_id, code: 3, message: 'failed', data: { stderr: 'x' } },
    ],
  });
  await call(node.url, 'POST', '/api/v1/commands/results', { auth: token, body: report(delivered[0], delivered[1]) });
  await call(admin, 'POST', '/api/v1/commands/results', { body: report(claimed[0], claimed[1]) });
  const other = created.find((c) => c.agent.id === 'fuzz-agent-2');
  await call(admin, 'POST', `/api/v1/commands/${other.document_id}/cancel`);
  // And some left pending, for the fuzzer's own long-polls and reads.
  const pending = await send([spec(agent('fuzz-agent'), 'restart'), spec(agent('fuzz-agent-2'), 'update', { version: '5.0.1' }), spec(server, 'reload')]);
  const all = [...created, ...pending];
  return {
    apiKey: key.key,
    token,
    dictionaries: {
      document_ids: all.map((c) => c.document_id),
      request_ids: [...new Set(all.map((c) => c.request_id))],
      agent_ids: ['fuzz-agent', 'fuzz-agent-2'],
      agent_keys: [agentKey],
      groups: ['fuzz', 'other'],
      servers: ['fuzz-module'],
    },
  };
}

// ---- schemathesis --------------------------------------------------------------------------

/** The config file of one run: authentication and the dictionaries of existing ids. */
function configFile(dir, target, fixtures) {
  const str = (s) => JSON.stringify(s);
  const lines = [];
  if (target.auth) lines.push(`headers = { Authorization = ${str(`Bearer ${target.auth}`)} }`, '');
  // Half the time a generated id is one that exists.
  const bind = {
    'path.document_id': 'document_ids',
    'body.results[*].document_id': 'document_ids',
    'path.request_id': 'request_ids',
    'query.request_id': 'request_ids',
    'path.id': 'agent_ids',
    'body.uuid': 'agent_ids',
    'body.key': 'agent_keys',
    'query.agent': 'agent_ids',
    'query.agents_list': 'agent_ids',
    'query.group_id': 'groups',
    'query.target_id': 'servers',
  };
  lines.push('[parameters]');
  for (const [parameter, dictionary] of Object.entries(bind)) lines.push(`${str(parameter)} = { dictionary = ${str(dictionary)}, probability = 0.5 }`);
  for (const [name, values] of Object.entries(fixtures.dictionaries)) lines.push('', `[dictionaries.${name}]`, `values = [${values.map(str).join(', ')}]`);
  const path = join(dir, 'schemathesis.toml');
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

async function fuzz(api, target, fixtures, node) {
  const dir = join(reportRoot, api);
  mkdirSync(dir, { recursive: true });
  const config = configFile(dir, target, fixtures);
  const args = [
    '--config-file',
    config,
    'run',
    `${target.base}/api/v1/openapi.json`,
    '--url',
    target.base,
    '--checks',
    CHECKS.join(','),
    '--max-time',
    String(seconds),
    '--seed',
    String(SEED),
    '--workers',
    '1',
    '--request-timeout',
    '5',
    '--report',
    'json,junit',
    '--report-dir',
    dir,
    '--report-json-path',
    join(dir, 'report.json'),
    '--report-junit-path',
    join(dir, 'junit.xml'),
    '--no-color',
  ];
  console.log(`\n== fuzz: ${target.title} at ${target.base} for ${seconds} s ==`);
  console.log(`$ schemathesis ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`);
  const started = Date.now();
  const out = createWriteStream(join(dir, 'schemathesis.log'));
  const child = spawn(schemathesis, args, {
    // Its cache of failing cases (for `schemathesis replay <id>`) goes beside the reports, not in the work tree.
    cwd: dir,
    env: { ...process.env, SCHEMATHESIS_HOOKS: join(helpers, 'hooks.py'), NO_COLOR: '1', COLUMNS: '120' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fuzzing = child;
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      process.stdout.write(chunk);
      out.write(chunk);
    });
  }
  const exitCode = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  fuzzing = undefined;
  await new Promise((resolve) => out.end(resolve));
  const elapsed = (Date.now() - started) / 1000;
  let report;
  try {
    report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  } catch {
    report = undefined;
  }
  const cases = report?.test_cases?.generated ?? 0;
  const failures = report?.test_cases?.unique_failures ?? 0;
  const errors = (report?.errors ?? []).reduce((n, e) => n + (e.count ?? 1), 0);
  const failureTitles = [...(report?.failures ?? []), ...(report?.errors ?? [])].map((f) => `${f.title ?? JSON.stringify(f)}${f.count ? ` (${f.count})` : ''}`);
  const ok = exitCode === 0 && report !== undefined && failures === 0 && errors === 0 && !node.exitedEarly();
  return { api, ok, exitCode, cases, failures, errors, failureTitles, seconds: elapsed };
}

// ---- output --------------------------------------------------------------------------------

function skip(reason) {
  const bar = '#'.repeat(78);
  const lines = [bar, '#', '#   FUZZ TIER SKIPPED: schemathesis cannot be installed or run here.', `#   ${reason}`];
  if (ci) lines.push('#   CI=true: the fuzz tier must run in CI, so this is a failure.');
  lines.push('#', bar);
  console.warn(`\n${lines.join('\n')}\n`);
  process.exit(ci ? 1 : 0);
}

function fatal(message) {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}

function tail(text, lines = 6) {
  return String(text).trim().split('\n').slice(-lines).join(' | ');
}

function rel(path) {
  return path.startsWith(root) ? path.slice(root.length + 1) : path;
}
