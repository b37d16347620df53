import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { requestJson } from '../../src/http-client.js';
import { command, eventually, tempDir } from '../support/courier-harness.js';
import { freePort, spawnCourier } from '../support/courier-process.js';

/**
 * Nothing acknowledged is lost: a producer keeps sending while agents receive, the server is
 * killed with SIGKILL mid-stream, restarted on the same data, and every command whose creation
 * was acknowledged (201) still reaches its agent and ends with its result.
 */
test('a courier killed with SIGKILL while commands are in flight loses none of them', async (t) => {
  const dataDir = tempDir();
  const port = await freePort();
  const args = ['--data-dir', dataDir, '--port', String(port), '--management-port', '0', '--log-level', 'info'];
  let server = await spawnCourier(args);
  const agents: ReferenceAgent[] = [];
  let producing = true;
  // Whatever happens, leave no agent loop and no server process behind.
  t.after(async () => {
    producing = false;
    for (const agent of agents) await agent.stop();
    server.child.kill('SIGKILL');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: server.socket, method, path, ...(body !== undefined ? { body } : {}) });

  const agentCount = 12;
  const received = new Map<string, number>();
  for (let i = 0; i < agentCount; i++) {
    const res = await admin('POST', '/api/v1/agents', { id: `crash-${i}` });
    const agent = new ReferenceAgent({
      url: server.url,
      id: `crash-${i}`,
      key: (res.body as { key: string }).key,
      // Half long-poll, half WebSocket: both transports must survive the crash.
      transport: i % 2 === 0 ? 'long-poll' : 'websocket',
      onCommand: (c) => received.set(c.document_id, (received.get(c.document_id) ?? 0) + 1),
    });
    agent.start();
    agents.push(agent);
  }

  // Produce until the kill: only commands answered 201 count as acknowledged.
  const acknowledged: string[] = [];
  const producer = (async () => {
    let n = 0;
    while (producing) {
      const batch = Array.from({ length: 5 }, () => command({ type: 'agent', id: `crash-${n++ % agentCount}` }));
      try {
        const res = await admin('POST', '/api/v1/commands', { commands: batch });
        if (res.status === 201) acknowledged.push(...(res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id));
      } catch {
        // The server is gone: this batch was never acknowledged; wait for the restart.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  })();

  await eventually(() => (acknowledged.length >= 150 && received.size >= 50 ? true : undefined), 'traffic before the kill', 60_000);
  server.child.kill('SIGKILL');
  assert.equal(await server.exited, null);
  const acknowledgedBeforeKill = acknowledged.length;

  server = await spawnCourier(args);
  await eventually(() => (acknowledged.length >= acknowledgedBeforeKill + 50 ? true : undefined), 'traffic after the restart', 60_000);
  producing = false;
  await producer;

  // Every acknowledged command reaches its agent and ends in success.
  await eventually(() => (acknowledged.every((id) => received.has(id)) ? true : undefined), 'every acknowledged command delivered', 90_000);
  for (const id of acknowledged) {
    const final = await eventually(async () => {
      const res = await admin('GET', `/api/v1/commands/${id}`);
      const status = (res.body as { status: string }).status;
      return status === 'success' ? status : undefined;
    }, `${id} to succeed`);
    assert.equal(final, 'success');
  }
  // Delivery is at-least-once (a command in the air at the kill is delivered again), but each
  // command was created once and got exactly one result: its trail says so.
  for (const id of acknowledged) {
    const trail = ((await admin('GET', `/api/v1/commands/${id}/history`)).body as { events: { to: string; cause: string }[] }).events;
    assert.equal(trail.filter((e) => e.cause === 'created').length, 1, `${id} created once`);
    assert.deepEqual(
      trail.filter((e) => e.to === 'success' || e.to === 'failure').map((e) => e.to),
      ['success'],
      `${id} has one result`,
    );
  }
});
