import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { workersOfThisRun } from './workers-of-this-run.js';

/** The compiled CLI entry point, next to this file in dist/. */
export const CLI = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

export interface CourierProcess {
  child: ChildProcess;
  url: string;
  socket: string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** Every JSON log line it wrote to stdout so far. */
  logs: { msg?: string; level?: number; [field: string]: unknown }[];
}

/** A port that was free a moment ago (for a process that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `courier serve` as its own process and resolves once it logs that it is running. Plain
 * HTTP unless `tls` (the TLS tests are in test/e2e/tls.test.ts).
 */
export function spawnCourier(args: string[], env: NodeJS.ProcessEnv = {}, { tls = false } = {}): Promise<CourierProcess> {
  const flags = ['--host', '127.0.0.1', '--workers', workersOfThisRun(), ...(tls ? [] : ['--insecure-http'])];
  const child = spawn(process.execPath, [CLI, 'serve', ...flags, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // 'close', not 'exit': by then everything it wrote to stdout has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const logs: CourierProcess['logs'] = [];
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let entry: { msg?: string; url?: string; socket?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'courier is running') resolve({ child, url: entry.url!, socket: entry.socket!, exited, logs });
    });
    void exited.then((code) => reject(new Error(`courier exited (${code}) before it was running: ${stderr.join('')}`)));
  });
}

/** A courier node of a test cluster on OpenSearch, as its own process (one a test may kill). */
export function spawnOpenSearchNode(options: { url: string; prefix: string; node: string; dataDir: string }, extra: string[] = []): Promise<CourierProcess> {
  return spawnCourier([
    '--data-dir',
    options.dataDir,
    '--port',
    '0',
    '--management-port',
    '0',
    '--node',
    options.node,
    '--log-level',
    'info',
    '--opensearch',
    options.url,
    '--opensearch-index-prefix',
    options.prefix,
    ...extra,
  ]);
}
