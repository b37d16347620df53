import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { startCourier, type CourierDeps, type RunningCourier } from '../../src/courier.js';
import { requestJson, type JsonResponse } from '../../src/http-client.js';
import { workersOfThisRun } from './workers-of-this-run.js';

/** A real courier node on a fresh data directory, an ephemeral port and its own Unix socket. */
export interface Harness {
  courier: RunningCourier;
  config: Config;
  dataDir: string;
  url: string;
  /** Calls the admin Unix socket. */
  admin(method: string, path: string, body?: unknown): Promise<JsonResponse>;
  /** Calls the management API with an API key. */
  mgmt(method: string, path: string, options?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<JsonResponse>;
  /** Creates an operator API key on the admin socket and returns it. */
  createKey(role: 'admin' | 'operator' | 'auditor', scopes?: string[], name?: string): Promise<string>;
  /** Calls the agents API. */
  http(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<JsonResponse>;
  /** Registers an agent and returns its key. */
  addAgent(id: string, groups?: string[]): Promise<string>;
  /** Registers an agent and returns a bearer token for it. */
  agentToken(id: string, groups?: string[]): Promise<string>;
  /** Sends commands through the admin socket; returns the created documents. */
  send(commands: object[]): Promise<{ document_id: string; status: string; agent: { id: string } }[]>;
  stop(): Promise<void>;
}

/** Temporary directories made by this test process: removed when it exits, whatever the test did. */
const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'courier-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function command(target: { type: string; id: string }, action = 'restart', extra: object = {}) {
  return { source: 'Users/Services', user: 'tester', target, action: { name: action, args: {}, version: '5.0.0' }, timeout: 100, ...extra };
}

/**
 * Several nodes started at once (as a cluster's nodes may start). If one fails to start, those
 * that did are stopped before the error is thrown: a node left running would keep the test
 * process alive after its suite failed.
 */
export async function startHarnesses(...overrides: Partial<Record<string, string>>[]): Promise<Harness[]> {
  const started = await Promise.allSettled(overrides.map((o) => startHarness(o)));
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const harnesses = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failure) {
    await Promise.allSettled(harnesses.map((h) => h.stop()));
    throw failure.reason;
  }
  return harnesses;
}

/** `deps`: what a test injects beyond the options (a logger to read, a short token lifetime). */
export async function startHarness(overrides: Partial<Record<string, string>> = {}, dataDir = tempDir(), deps: CourierDeps = {}): Promise<Harness> {
  const config = loadConfig({
    // Plain HTTP unless a test asks for TLS (`insecureHttp: 'false'`): the TLS tests are in test/e2e/tls.test.ts.
    flags: { host: '127.0.0.1', port: '0', managementPort: '0', dataDir, logLevel: 'silent', insecureHttp: 'true', workers: workersOfThisRun(), ...overrides },
    env: {},
  });
  const courier = await startCourier(config, { logger: pino({ level: config.logLevel }), ...deps });
  const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: courier.socket, method, path, ...(body !== undefined ? { body } : {}) });
  const http: Harness['http'] = (method, path, options = {}) =>
    requestJson({
      baseUrl: courier.url,
      method,
      path,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  const addAgent = async (id: string, groups: string[] = []) => {
    const res = await admin('POST', '/api/v1/agents', { id, groups });
    if (res.status !== 201) throw new Error(`register ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { key: string }).key;
  };
  const mgmt: Harness['mgmt'] = (method, path, options = {}) =>
    requestJson({
      baseUrl: courier.managementUrl,
      method,
      path,
      headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  const harness: Harness = {
    courier,
    mgmt,
    async createKey(role, scopes = [], name) {
      const res = await admin('POST', '/api/v1/keys', { role, scopes, ...(name ? { name } : {}) });
      if (res.status !== 201) throw new Error(`create key: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { key: string }).key;
    },
    config,
    dataDir,
    url: courier.url,
    admin,
    http,
    addAgent,
    async agentToken(id, groups = []) {
      const key = await addAgent(id, groups);
      const res = await http('POST', '/api/v1/authentication', { body: { uuid: id, key } });
      if (res.status !== 200) throw new Error(`authenticate ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { token: string }).token;
    },
    async send(commands) {
      const res = await admin('POST', '/api/v1/commands', { commands });
      if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { commands: { document_id: string; status: string; agent: { id: string } }[] }).commands;
    },
    async stop() {
      await courier.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The real time plus an offset a test moves forward: what expires after a day expires now. */
export class SkewedClock {
  private skewMs = 0;

  now(): number {
    return Date.now() + this.skewMs;
  }

  advance(ms: number): void {
    this.skewMs += ms;
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : inspect(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
