import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { upgradeOutcome } from '../support/upgrade-outcome.js';
import { requestJson } from '../../src/http-client.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * An agent token holds only for the registration it was issued for: once the agent is removed,
 * or removed and registered again under the same id, the old token is refused on every route.
 */
describe('agent tokens are bound to the registration', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ longPollTimeout: '30s' });
  });
  after(() => h.stop());

  const KEY = 'a-fixed-key-of-the-agent-0123456789';
  const register = async (id: string) => {
    const res = await h.admin('POST', '/api/v1/agents', { id, key: KEY, groups: [] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  };
  const remove = async (id: string) => assert.equal((await h.admin('DELETE', `/api/v1/agents/${id}`)).status, 200);
  const login = async (id: string) => {
    const res = await h.http('POST', '/api/v1/authentication', { body: { uuid: id, key: KEY } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { token: string }).token;
  };
  const ndjson = (documentId: string) =>
    [
      JSON.stringify({ agent: { id: 'x' } }),
      JSON.stringify({ id: documentId, module: 'command', operation: 'update' }),
      JSON.stringify({ command: { result: { code: 0, message: 'done' } } }),
    ].join('\n');

  /** The status and code each authenticated route answers with this token (a refusal is the same everywhere). */
  async function answers(token: string) {
    const code = (res: { status: number | string; body: unknown }) => `${res.status} ${(res.body as { code?: string } | null)?.code ?? ''}`.trim();
    // A poll is accepted when it becomes a subscription (then it is let go), refused when answered.
    const subscribed = h.courier.supervisor.stats().longPollSubscriptions;
    const abandon = new AbortController();
    let answered: { status: number | string; body: unknown } | undefined;
    void requestJson({ baseUrl: h.url, method: 'GET', path: '/api/v1/commands', headers: { authorization: `Bearer ${token}` }, signal: abandon.signal }).then(
      (res) => (answered = res),
      () => {},
    );
    const poll = await eventually(() => {
      if (answered) return answered;
      if (h.courier.supervisor.stats().longPollSubscriptions > subscribed) {
        abandon.abort();
        return { status: 'held', body: null };
      }
      return undefined;
    }, 'the poll to be held or answered');
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === subscribed ? true : undefined), 'the abandoned poll gone');
    const results = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: 'no-such', code: 0, message: 'x' }] } });
    const stateful = await h.http('POST', '/api/v1/events/stateful', {
      token,
      body: ndjson('no-such'),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    const upgrade = await upgradeOutcome(h.url, token);
    return { poll: code(poll), results: code(results), stateful: code(stateful), upgrade };
  }

  const ACCEPTED = { poll: 'held', results: '404 COURIER_ERR_COMMAND_NOT_FOUND', stateful: '404 COURIER_ERR_COMMAND_NOT_FOUND', upgrade: '101' };
  const REFUSED = {
    poll: '403 COURIER_ERR_INVALID_TOKEN',
    results: '403 COURIER_ERR_INVALID_TOKEN',
    stateful: '403 COURIER_ERR_INVALID_TOKEN',
    upgrade: '403 COURIER_ERR_INVALID_TOKEN',
  };

  test('removed, then registered again with the same id and key: the old token is refused everywhere, a new one works', async () => {
    await register('reg-1');
    const old = await login('reg-1');
    assert.deepEqual(await answers(old), ACCEPTED, 'control: the token works while its registration stands');

    await remove('reg-1');
    assert.deepEqual(await answers(old), REFUSED, 'the agent was removed');

    await register('reg-1');
    assert.deepEqual(await answers(old), REFUSED, 'a token of the earlier registration');
    const fresh = await login('reg-1');
    assert.deepEqual(await answers(fresh), ACCEPTED, 'a token of the new registration');
  });

  test('a socket open when its agent is removed is closed (1008), and its unacked command goes back to pending', async () => {
    await register('reg-2');
    const token = await login('reg-2');
    const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}/api/v1/commands/ws`, { headers: { authorization: `Bearer ${token}` } });
    const frames: { type: string; code?: string }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString()) as { type: string }));
    await once(ws, 'open');
    const [created] = await h.send([command({ type: 'agent', id: 'reg-2' }, 'restart', { timeout: 3600 })]);
    await eventually(() => (frames.some((f) => f.type === 'commands') ? true : undefined), 'the command pushed');

    const closed = once(ws, 'close');
    await remove('reg-2');
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the socket was not closed')), 5000).unref());
    const [code, reason] = (await Promise.race([closed, timeout])) as [number, Buffer];
    assert.equal(code, 1008);
    assert.equal(reason.toString(), 'agent removed');
    assert.deepEqual(frames.at(-1), { type: 'error', code: 'COURIER_ERR_INVALID_TOKEN', message: 'Invalid token' });
    const status = ((await h.admin('GET', `/api/v1/commands/${created!.document_id}`)).body as { status: string }).status;
    assert.equal(status, 'pending');
    assert.equal(h.courier.supervisor.stats().webSocketSubscriptions, 0);
  });

  test('a poll held open when its agent is removed is answered 403 at once', async () => {
    await register('reg-3');
    const token = await login('reg-3');
    const poll = requestJson({ baseUrl: h.url, method: 'GET', path: '/api/v1/commands', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'the poll held');
    await remove('reg-3');
    const res = await poll;
    // 403, not the 408 of the poll's timeout (30 s): answered at the removal.
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, { message: 'Invalid token', code: 'COURIER_ERR_INVALID_TOKEN' });
    assert.equal(h.courier.supervisor.stats().longPollSubscriptions, 0);
  });
});
