import { randomBytes } from 'node:crypto';
import { openSearchUnavailableReason, startOpenSearchNode } from './opensearch-node.js';

/**
 * The OpenSearch test tier. `npm test` (scripts/run-tests.mjs) starts one node for the whole run
 * and passes its URL in COURIER_TEST_OPENSEARCH_URL; a test file run on its own starts a node for
 * its process. Without Java or Maven the tier is skipped, loudly, except under CI=true, where it
 * fails.
 */
export const OPENSEARCH_URL_ENV = 'COURIER_TEST_OPENSEARCH_URL';
/** Set by the test runner when it already said why the tier is skipped. */
export const OPENSEARCH_SKIPPED_ENV = 'COURIER_TEST_OPENSEARCH_SKIPPED';

export interface OpenSearchTier {
  /** For `describe(name, { skip })`: false, or why the tier is skipped. */
  skip: string | false;
  /** The node's URL (starts one for this process if the runner did not). Rejects under CI without Java/Maven. */
  url(): Promise<string>;
}

let ownNode: Promise<string> | undefined;
let warned = false;

export function openSearchTier(): OpenSearchTier {
  const fromRunner = process.env[OPENSEARCH_URL_ENV];
  if (fromRunner) return { skip: false, url: async () => fromRunner };
  const reason = openSearchUnavailableReason();
  if (reason !== null) {
    if (process.env.CI === 'true') {
      return { skip: false, url: () => Promise.reject(new Error(`the OpenSearch test tier must run in CI, but: ${reason}`)) };
    }
    if (!warned && !process.env[OPENSEARCH_SKIPPED_ENV]) {
      warned = true;
      console.warn(skipBanner(reason));
    }
    return { skip: `OpenSearch test tier skipped: ${reason}`, url: () => Promise.reject(new Error(reason)) };
  }
  return { skip: false, url: () => (ownNode ??= startOpenSearchNode().then((node) => node.url)) };
}

export function skipBanner(reason: string): string {
  const bar = '!'.repeat(80);
  return ['', bar, `!!  OpenSearch test tier SKIPPED: ${reason}`, '!!  Install a Java 17+ JDK and Maven to run the tests against a real OpenSearch.', bar, ''].join('\n');
}

/** A fresh index prefix, so that tests sharing one node never see each other's documents. */
export function indexPrefix(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(3).toString('hex')}-`;
}

export interface ClusterReply {
  status: number;
  body: any;
}

/** One call to the cluster's REST API, as an operator or another service would make it. */
export async function cluster(url: string, method: string, path: string, body?: unknown): Promise<ClusterReply> {
  const ndjson = Array.isArray(body);
  const res = await fetch(url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    body: body === undefined ? undefined : ndjson ? body.map((line) => JSON.stringify(line)).join('\n') + '\n' : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A command document as the Wazuh indexer plugin writes it (`POST /_plugins/_command_manager/commands`). */
export function wazuhCommand(agentId: string, options: { action?: string; timeoutS?: number; at?: number; user?: string } = {}) {
  const at = options.at ?? Date.now();
  const timeout = options.timeoutS ?? 100;
  return {
    '@timestamp': new Date(at).toISOString(),
    delivery_timestamp: new Date(at + timeout * 1000).toISOString(),
    agent: { groups: ['default'] },
    command: {
      source: 'Users/Services',
      user: options.user ?? 'wazuh',
      target: { type: 'agent', id: agentId },
      action: { name: options.action ?? 'restart', args: {}, version: '5.0.0' },
      timeout,
      status: 'pending',
      request_id: randomBytes(8).toString('hex'),
      order_id: randomBytes(8).toString('hex'),
    },
  };
}

/** Indexes documents with `_bulk` (ids chosen by the cluster, as the plugin does); returns their ids in order. */
export async function indexCommands(url: string, index: string, docs: object[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < docs.length; i += 1000) {
    const lines = docs.slice(i, i + 1000).flatMap((doc) => [{ index: { _index: index } }, doc]);
    const res = await cluster(url, 'POST', '/_bulk', lines);
    if (res.status !== 200 || res.body.errors) throw new Error(`bulk index failed: ${JSON.stringify(res.body).slice(0, 500)}`);
    ids.push(...res.body.items.map((item: { index: { _id: string } }) => item.index._id));
  }
  return ids;
}
