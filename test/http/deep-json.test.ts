import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestJson } from '../../src/http-client.js';
import { AgentSocket, type Frame } from '../support/agent-socket.js';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/** The payload of the report: a result whose `data` is nested 6,000 levels deep (~12 KB). */
const DEEP = '['.repeat(6000) + ']'.repeat(6000);
const deepResults = (id: string) => `{"results":[{"document_id":"${id}","code":0,"message":"x","data":${DEEP}}]}`;
const deepNdjson = (id: string) =>
  [
    JSON.stringify({ agent: { id: 'deep', name: 'deep', groups: [], type: 'endpoint', version: 'v5.0.0' } }),
    JSON.stringify({ id, module: 'command', operation: 'update' }),
    `{"command":{"result":{"code":0,"message":"x","data":${DEEP}}}}`,
  ].join('\n') + '\n';

async function postRaw(url: string, path: string, token: string, body: string, contentType: string) {
  const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as { code: string; message: string } };
}

/** Sends one text frame on a fresh WebSocket of the agent and returns the first frame answered. */
async function wsExchange(url: string, token: string, frame: string): Promise<Frame> {
  const socket = await new AgentSocket(url, token).open();
  socket.ws.send(frame);
  try {
    // The agent's pending command may be pushed first (it is, once the claim is durable), in the same
    // TCP read as the answer: the queueing socket keeps both. The answer is the first frame that is
    // not a push.
    for (;;) {
      const answer = await socket.next();
      if (answer.type !== 'commands') return answer;
    }
  } finally {
    await socket.close();
  }
}

/**
 * One agent could stop every write of courier with a single result nested 6,000 levels deep: the
 * store overflowed its stack serializing it and retried the batch forever. Such a value is refused
 * at the edge on every route that takes one, and everybody else's writes go on.
 */
describe('deeply nested JSON from a client', () => {
  let h: Harness;
  let token: string;
  let otherToken: string;
  let commandId: string;

  before(async () => {
    h = await startHarness();
    token = await h.agentToken('deep');
    otherToken = await h.agentToken('bystander');
    commandId = (await h.send([command({ type: 'agent', id: 'deep' })]))[0]!.document_id;
  });
  after(() => h.stop());

  /** Courier still writes: another agent's result and a new create are answered, each within a second. */
  async function assertStillWriting(): Promise<void> {
    const [created] = await h.send([command({ type: 'agent', id: 'bystander' })]);
    const delivered = await requestJson({
      baseUrl: h.url,
      method: 'GET',
      path: '/api/v1/commands',
      headers: { authorization: `Bearer ${otherToken}` },
      signal: AbortSignal.timeout(1000),
    });
    assert.equal(delivered.status, 200);
    const reported = await requestJson({
      baseUrl: h.url,
      method: 'POST',
      path: '/api/v1/commands/results',
      headers: { authorization: `Bearer ${otherToken}` },
      body: { results: [{ document_id: created!.document_id, code: 0, message: 'ok' }] },
      signal: AbortSignal.timeout(1000),
    });
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
    assert.equal((reported.body as { results: { outcome: string }[] }).results[0]!.outcome, 'recorded');
    const create = await requestJson({
      socketPath: h.courier.socket,
      method: 'POST',
      path: '/api/v1/commands',
      body: { commands: [command({ type: 'agent', id: 'bystander' })] },
      signal: AbortSignal.timeout(1000),
    });
    assert.equal(create.status, 201);
    const health = await requestJson({ baseUrl: h.url, method: 'GET', path: '/healthz', signal: AbortSignal.timeout(1000) });
    assert.equal(health.status, 200, JSON.stringify(health.body));
  }

  test('POST /api/v1/commands/results (JSON) refuses it with 400, and courier goes on writing', async () => {
    const res = await postRaw(h.url, '/api/v1/commands/results', token, deepResults(commandId), 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'COURIER_ERR_VALIDATION');
    assert.match(res.body.message, /body\.results\.0\.data\] is nested deeper than 32 levels/);
    await assertStillWriting();
  });

  test('POST /api/v1/events/stateful (NDJSON) refuses it with 400, and courier goes on writing', async () => {
    const res = await postRaw(h.url, '/api/v1/events/stateful', token, deepNdjson(commandId), 'application/x-ndjson');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'COURIER_ERR_VALIDATION');
    assert.match(res.body.message, /line 3: command\.result\.data\] is nested deeper/);
    await assertStillWriting();
  });

  test('a WebSocket result frame is refused with an error frame, and courier goes on writing', async () => {
    const frame = `{"type":"result","document_id":"${commandId}","code":0,"message":"x","data":${DEEP}}`;
    const answer = await wsExchange(h.url, token, frame);
    assert.equal(answer.type, 'error');
    assert.equal(answer.code, 'COURIER_ERR_VALIDATION');
    assert.match(answer.message!, /result\.data\] is nested deeper/);
    await assertStillWriting();
  });

  test('the admin socket refuses it too, on results and on action args', async () => {
    const results = await requestJson({ socketPath: h.courier.socket, method: 'POST', path: '/api/v1/commands/results', body: deepResults(commandId) });
    assert.equal(results.status, 400);
    const args = `{"commands":[{"source":"s","target":{"type":"agent","id":"deep"},"action":{"name":"restart","args":{"a":${DEEP}}},"timeout":10}]}`;
    const created = await requestJson({ socketPath: h.courier.socket, method: 'POST', path: '/api/v1/commands', body: args });
    assert.equal(created.status, 400);
    assert.match((created.body as { message: string }).message, /body\.commands\.0\.action\.args\] is nested deeper/);
    await assertStillWriting();
  });

  test('action args over 64 KiB and result data over 256 KiB of JSON are refused too', async () => {
    const big = await h.admin('POST', '/api/v1/commands', {
      commands: [{ ...command({ type: 'agent', id: 'deep' }), action: { name: 'restart', args: { a: 'x'.repeat(70_000) } } }],
    });
    assert.equal(big.status, 400);
    assert.match((big.body as { message: string }).message, /body\.commands\.0\.action\.args\] is larger than 65536 bytes/);
    const data = { rows: Array.from({ length: 300 }, () => 'y'.repeat(1000)) };
    const res = await postRaw(h.url, '/api/v1/commands/results', token, JSON.stringify({ results: [{ document_id: commandId, code: 0, message: 'x', data }] }), 'application/json');
    assert.equal(res.status, 400);
    assert.match(res.body.message, /body\.results\.0\.data\] is larger than 262144 bytes/);
  });

  test('the management API refuses deep action args', async () => {
    const key = await h.createKey('operator');
    const args = `{"commands":[{"source":"s","target":{"type":"agent","id":"deep"},"action":{"name":"restart","args":{"a":${DEEP}}},"timeout":10}]}`;
    const res = await fetch(h.courier.managementUrl + '/api/v1/commands', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: args,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'COURIER_ERR_VALIDATION');
  });

  test('the command itself is untouched and still takes a proper result', async () => {
    const res = await postRaw(
      h.url,
      '/api/v1/commands/results',
      token,
      JSON.stringify({ results: [{ document_id: commandId, code: 0, message: 'ok', data: { depth: [[['fine']]] } }] }),
      'application/json',
    );
    assert.equal(res.status, 200);
    const stored = await h.admin('GET', `/api/v1/commands/${commandId}`);
    assert.deepEqual((stored.body as { result: unknown }).result, { code: 0, message: 'ok', data: { depth: [[['fine']]] } });
  });
});
