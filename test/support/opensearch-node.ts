// A real single-node OpenSearch for tests: the JVM program in test/opensearch-node, built from
// Maven Central jars by scripts/build-opensearch-node.sh. See docs/opensearch-test-node.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface OpenSearchNode {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** path.data: pass it (and `port`) to startOpenSearchNode to restart on the same data. */
  dataDir: string;
  /** Milliseconds from spawning the JVM to the cluster being yellow (build time excluded). */
  startMs: number;
  /** SIGTERM, then SIGKILL after 20 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL, like a crash. Await stop() afterwards to wait for the exit. */
  kill(): void;
  /** SIGSTOP: the node hangs (connections stay open, nothing is answered), like a cluster frozen by a long GC or a stalled disk. */
  freeze(): void;
  /** SIGCONT: the frozen node goes on with what it had received. */
  thaw(): void;
}

export interface StartOptions {
  /** HTTP port; 0 or absent = ephemeral. */
  port?: number;
  /** Reuse this path.data (default: a fresh temp dir, removed when this process exits). */
  dataDir?: string;
  /** Default 120 s. */
  startTimeoutMs?: number;
}

const MAIN_CLASS = 'dev.courier.testnode.OpenSearchTestNode';
const READY = /^OPENSEARCH_READY (http:\/\/127\.0\.0\.1:(\d+))$/;
// Serial GC and C1 only: start-up is mostly class loading and one-off code, so on two cores this
// starts noticeably faster than the defaults, and a test node never runs long enough for C2 to pay.
const JVM_FLAGS = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];
const STDERR_TAIL_LINES = 60;

/**
 * The repository root: the nearest ancestor with the package.json of "courier", looked up from
 * this module (test/support/ or dist/test/support/), then from the working directory (for a
 * compiled copy outside the repository).
 */
function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'courier') return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('cannot find the courier repository (package.json named "courier") above this module or the working directory');
}

let unavailable: { reason: string | null } | undefined;

/** null when Java 17+ and Maven are installed, else why the OpenSearch test node cannot run. */
export function openSearchUnavailableReason(): string | null {
  if (unavailable) return unavailable.reason;
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  let reason: string | null = null;
  if (java.error || java.status !== 0) {
    reason = 'java is not installed (the OpenSearch test node needs a Java 17+ JDK and Maven)';
  } else if (mvn.error || mvn.status !== 0) {
    reason = 'mvn is not installed (the OpenSearch test node is built with Maven)';
  } else {
    // `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` on stderr.
    const major = Number(/version "(?:1\.)?(\d+)/.exec(java.stderr)?.[1] ?? 0);
    if (major < 17) reason = `java ${major || '(unknown version)'} is too old: OpenSearch 2.19 needs Java 17+`;
  }
  unavailable = { reason };
  return reason;
}

let built = false;

/** Runs scripts/build-opensearch-node.sh once per process (it is a quick no-op when up to date). */
function ensureBuilt(root: string): void {
  if (built) return;
  const result = spawnSync('bash', [join(root, 'scripts', 'build-opensearch-node.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15 * 60_000,
  });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`building the OpenSearch test node failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`);
  }
  built = true;
}

// Temp dirs and JVMs of this process, cleaned up when it exits (even if a test forgot stop()).
const tempDirs: string[] = [];
const liveNodes = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveNodes) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Builds (once per process) and starts a node; resolves when it serves HTTP and the cluster is yellow. */
export async function startOpenSearchNode(opts: StartOptions = {}): Promise<OpenSearchNode> {
  const reason = openSearchUnavailableReason();
  if (reason !== null) throw new Error(`cannot start the OpenSearch test node: ${reason}`);
  const root = repoRoot();
  ensureBuilt(root);
  installExitHook();

  // The JVM's java.io.tmpdir (where it makes its path.home) and, by default, path.data live here,
  // so that nothing is left behind even if the JVM is SIGKILLed.
  const scratch = mkdtempSync(join(tmpdir(), 'courier-opensearch-'));
  tempDirs.push(scratch);
  const dataDir = opts.dataDir ?? join(scratch, 'data');
  const moduleDir = join(root, 'test', 'opensearch-node', 'target');
  const args = [
    ...JVM_FLAGS,
    `-Djava.io.tmpdir=${scratch}`,
    '-cp',
    [join(moduleDir, 'classes'), join(moduleDir, 'lib', '*')].join(delimiter),
    MAIN_CLASS,
    '--port',
    String(opts.port ?? 0),
    '--data',
    dataDir,
    // Its stdin is a pipe from us: when this process dies, the pipe closes and the JVM shuts down.
    '--exit-on-stdin-eof',
  ];

  const started = Date.now();
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  liveNodes.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      liveNodes.delete(child);
      resolve();
    }),
  );
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });

  const ready = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`OpenSearch test node ${why}; last stderr lines:\n${stderrTail.join('\n')}`));
    };
    const timeoutMs = opts.startTimeoutMs ?? 120_000;
    const timer = setTimeout(() => fail(`was not ready within ${timeoutMs} ms`), timeoutMs);
    const onError = (err: Error): void => fail(`could not be spawned (${err.message})`);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited (${signal ?? code}) before it was ready`);
    child.once('error', onError);
    child.once('exit', onExit);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = READY.exec(line);
      if (!match) return;
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      resolve({ url: match[1]!, port: Number(match[2]) });
    });
  });
  const startMs = Date.now() - started;

  // Once ready, the node must not keep this process alive on its own (a test that forgets stop()
  // would otherwise hang); stop() takes the reference back while it waits.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?(): void }).unref?.();

  let stopping: Promise<void> | undefined;
  return {
    ...ready,
    dataDir,
    startMs,
    kill: () => {
      child.kill('SIGKILL');
    },
    freeze: () => {
      child.kill('SIGSTOP');
    },
    thaw: () => {
      child.kill('SIGCONT');
    },
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.ref();
          child.kill('SIGCONT'); // a frozen node would not act on SIGTERM
          child.kill('SIGTERM');
          const escalate = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(escalate);
        }
      })();
      return stopping;
    },
  };
}
