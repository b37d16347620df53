import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { requestJson } from '../../src/http-client.js';
import { AgentSocket, type Frame } from '../support/agent-socket.js';
import { command, eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';

/** Tokens live 3 s here (Wazuh's are 900 s), so that a stream outlives its token within a test. */
const LIFETIME_S = 3;

/**
 * A stream opened with a token ends when the token expires: a WebSocket is closed with 4001
 * "token expired", a held long-poll is answered 401. The reference agent authenticates again and
 * carries on, on either transport.
 */
/** Each case waits for an expiry a few seconds away: past this it has failed, rather than hang. */
const CASE = { timeout: 30_000 };

describe('agent streams end when their token expires', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ longPollTimeout: '60s' }, tempDir(), { tokenLifetimeS: LIFETIME_S });
  });
  after(() => h.stop());

  const status = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;

  test('a WebSocket is closed with 4001 "token expired" at its expiry; what it held unacked goes back to pending', CASE, async () => {
    const token = await h.agentToken('exp-ws');
    const socket = await new AgentSocket(h.url, token).open();
    const closed = once(socket.ws, 'close');
    const [created] = await h.send([command({ type: 'agent', id: 'exp-ws' }, 'restart', { timeout: 3600 })]);
    const pushed = await socket.next();
    assert.equal(pushed.type, 'commands');
    // Not acked: it is in flight on this socket when the token expires.
    const frames: Frame[] = [];
    socket.ws.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString()) as Frame));
    const [code, reason] = (await closed) as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'token expired');
    assert.deepEqual(frames.at(-1), { type: 'error', code: 'COURIER_ERR_EXPIRED_TOKEN', message: 'Token expired: authenticate again' });
    await eventually(async () => ((await status(created!.document_id)) === 'pending' ? true : undefined), 'the command back to pending');
    assert.equal(h.courier.supervisor.stats().webSocketSubscriptions, 0);
  });

  test('a long-poll held across its token expiry is answered 401 then (not 408 at its timeout)', CASE, async () => {
    const token = await h.agentToken('exp-poll');
    const poll = requestJson({ baseUrl: h.url, method: 'GET', path: '/api/v1/commands', headers: { authorization: `Bearer ${token}` } });
    // It was held (a token already expired would have been answered at once, and never subscribed).
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'the poll held');
    const res = await poll;
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { message: 'Token expired: authenticate again', code: 'COURIER_ERR_EXPIRED_TOKEN' });
    // Ended with its answer (with --workers, its end reaches the supervisor a message later).
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 0 ? true : undefined), 'the poll ended');
    // A command sent afterwards waits, pending, for the agent's next poll.
    const [created] = await h.send([command({ type: 'agent', id: 'exp-poll' })]);
    assert.equal(await status(created!.document_id), 'pending');
  });

  for (const transport of ['websocket', 'long-poll'] as const) {
    test(`the reference agent (${transport}) authenticates again when its token expires and keeps receiving commands`, CASE, async (t) => {
      const id = `exp-ref-${transport}`;
      const key = await h.addAgent(id);
      const received: string[] = [];
      let tokens = 0;
      const agent = new ReferenceAgent({ url: h.url, id, key, transport, onCommand: (c) => received.push(c.document_id), onAuthenticated: () => tokens++ });
      t.after(() => agent.stop());
      agent.start();
      const [first] = await h.send([command({ type: 'agent', id })]);
      await eventually(() => (received.includes(first!.document_id) ? true : undefined), 'the first command');
      // Its stream (held with the first token) is ended at the expiry; it must get a second token.
      await eventually(() => (tokens >= 2 ? true : undefined), 'a new token after the first expired');
      const [second] = await h.send([command({ type: 'agent', id })]);
      await eventually(() => (received.includes(second!.document_id) ? true : undefined), 'a command after the expiry');
      await eventually(async () => ((await status(second!.document_id)) === 'success' ? true : undefined), 'its result recorded');
    });
  }
});
