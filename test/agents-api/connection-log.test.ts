import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';
import { eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { AgentSocket } from '../support/agent-socket.js';
import { LogLines } from '../support/log-lines.js';

/**
 * Agents coming and going are logged: a WebSocket's open and close (with the close code and reason),
 * a long-polling agent once when first seen (not each poll). A real listener and real clients; the
 * log read from the stream courier writes it to.
 */
describe('agent connections in the log', () => {
  let h: Harness;
  const out = new LogLines();

  before(async () => {
    // Polls answered 408 within a second, so that an agent polls again soon.
    h = await startHarness({ longPollTimeout: '1s' }, tempDir(), { logger: createLogger({ logLevel: 'info', logFormat: 'json' }, out) });
  });
  after(() => h.stop());

  const linesOf = (msg: string, agentId: string) => out.withMessage(msg).filter((r) => r.agentId === agentId);

  test('a WebSocket agent: connected, then disconnected with the code and reason it closed with', async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('cl-ws')).open();
    const [connected] = await eventually(() => (linesOf('agent connected', 'cl-ws').length > 0 ? linesOf('agent connected', 'cl-ws') : undefined), 'the connected line');
    assert.deepEqual(
      { level: connected!.level, transport: connected!.transport, node: connected!.node, address: connected!.address },
      { level: 30, transport: 'websocket', node: h.config.node, address: '127.0.0.1' },
    );
    assert.deepEqual(linesOf('agent disconnected', 'cl-ws'), [], 'still connected');
    socket.ws.close(4000, 'agent stopping');
    const [gone] = await eventually(() => (linesOf('agent disconnected', 'cl-ws').length > 0 ? linesOf('agent disconnected', 'cl-ws') : undefined), 'the disconnected line');
    assert.deepEqual(
      { transport: gone!.transport, node: gone!.node, address: gone!.address, code: gone!.code, reason: gone!.reason },
      { transport: 'websocket', node: h.config.node, address: '127.0.0.1', code: 4000, reason: 'agent stopping' },
    );
    assert.equal(typeof gone!.connectedMs, 'number');
  });

  test('a WebSocket closed by courier (its agent removed): the close code says why', async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('cl-removed')).open();
    await eventually(() => linesOf('agent connected', 'cl-removed')[0], 'the connected line');
    assert.equal((await h.admin('DELETE', '/api/v1/agents/cl-removed')).status, 200);
    const gone = await eventually(() => linesOf('agent disconnected', 'cl-removed')[0], 'the disconnected line');
    assert.deepEqual({ code: gone.code, reason: gone.reason }, { code: 1008, reason: 'agent removed' });
    socket.ws.terminate();
  });

  test('a long-polling agent: connected once, however many polls', async () => {
    const token = await h.agentToken('cl-lp');
    for (let poll = 0; poll < 3; poll++) assert.equal((await h.http('GET', '/api/v1/commands', { token })).status, 408);
    const connected = linesOf('agent connected', 'cl-lp');
    assert.equal(connected.length, 1, JSON.stringify(connected));
    assert.deepEqual(
      { transport: connected[0]!.transport, node: connected[0]!.node, address: connected[0]!.address },
      { transport: 'long-poll', node: h.config.node, address: '127.0.0.1' },
    );
    // Gone only after a minute without a poll (long-poll-presence.test.ts).
    assert.deepEqual(linesOf('agent disconnected', 'cl-lp'), []);
  });
});
