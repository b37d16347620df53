#!/usr/bin/env node
// Measures indexer-write → agent-receipt latency: commands are written one at a time into
// `wazuh-commands` the way the Wazuh indexer plugin writes them (a plain index call), at random
// moments, and each is timed from the cluster's acknowledgement of the write to its arrival at a
// long-polling agent of a running courier node.
//
//   npm run build && node scripts/indexer-latency.mjs [--count 1000] [--poll-interval 1s] [--agents 50] [--url http://…]
//
// Without --url it starts the OpenSearch test node (Java 17+ and Maven needed). Prints a JSON summary.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';

const dist = new URL('../dist/', import.meta.url);
const { loadConfig } = await import(new URL('src/config.js', dist).href);
const { startCourier } = await import(new URL('src/courier.js', dist).href);
const { ReferenceAgent } = await import(new URL('src/agent/reference-agent.js', dist).href);
const { requestJson } = await import(new URL('src/http-client.js', dist).href);

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    agents: { type: 'string', default: '50' },
    'poll-interval': { type: 'string', default: '1s' },
    url: { type: 'string' },
  },
});
const count = Number(values.count);
const agentCount = Number(values.agents);

let node;
let url = values.url;
if (!url) {
  const { startOpenSearchNode } = await import(new URL('test/support/opensearch-node.js', dist).href);
  node = await startOpenSearchNode();
  url = node.url;
}
const prefix = `latency-${randomBytes(3).toString('hex')}-`;
const dataDir = mkdtempSync(join(tmpdir(), 'courier-latency-'));
const config = loadConfig({
  flags: {
    host: '127.0.0.1',
    port: '0',
    managementPort: '0',
    dataDir,
    logLevel: 'warn',
    opensearch: url,
    opensearchIndexPrefix: prefix,
    pollInterval: values['poll-interval'],
  },
  env: {},
});
const courier = await startCourier(config, { logger: pino({ level: 'warn' }) });
const admin = (method, path, body) => requestJson({ socketPath: courier.socket, method, path, ...(body ? { body } : {}) });

const written = new Map(); // document_id -> { start, acked }
const latencies = [];
const fromStart = [];
const agents = [];
for (let i = 0; i < agentCount; i++) {
  const id = `lat-${i}`;
  const res = await admin('POST', '/api/v1/agents', { id });
  const agent = new ReferenceAgent({
    url: courier.url,
    id,
    key: res.body.key,
    transport: 'long-poll',
    onCommand: (c) => {
      const now = performance.now();
      const w = written.get(c.document_id);
      if (!w) return;
      latencies.push(now - w.acked);
      fromStart.push(now - w.start);
    },
  });
  agent.start();
  agents.push(agent);
}
await sleep(1000); // every agent holds its long-poll

const index = `${prefix}wazuh-commands`;
for (let i = 0; i < count; i++) {
  const at = Date.now();
  const doc = {
    '@timestamp': new Date(at).toISOString(),
    delivery_timestamp: new Date(at + 100_000).toISOString(),
    agent: { groups: [] },
    command: {
      source: 'Users/Services',
      user: 'latency',
      target: { type: 'agent', id: `lat-${i % agentCount}` },
      action: { name: 'restart', args: {}, version: '5.0.0' },
      timeout: 100,
      status: 'pending',
      request_id: randomBytes(8).toString('hex'),
      order_id: randomBytes(8).toString('hex'),
    },
  };
  const start = performance.now();
  const res = await fetch(`${url}/${index}/_doc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  const body = await res.json();
  written.set(body._id, { start, acked: performance.now() });
  // Random gaps, so that writes fall at every phase of the poll cycle.
  await sleep(10 + Math.random() * 50);
}
const deadline = Date.now() + 30_000;
while (latencies.length < count && Date.now() < deadline) await sleep(100);

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, median_ms: Math.round(q(0.5)), p90_ms: Math.round(q(0.9)), p99_ms: Math.round(q(0.99)), max_ms: Math.round(s[s.length - 1]) };
};
console.log(
  JSON.stringify(
    {
      commands: count,
      received: latencies.length,
      poll_interval: values['poll-interval'],
      from_index_ack: summary(latencies),
      from_index_request: summary(fromStart),
    },
    null,
    2,
  ),
);

for (const agent of agents) await agent.stop();
await courier.stop();
rmSync(dataDir, { recursive: true, force: true });
await node?.stop();
