import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { RawConnection, type RawResponse } from '../support/raw-connection.js';

const AUTHENTICATION = 'POST /api/v1/authentication HTTP/1.1\r\nHost: courier\r\n';

function assertRefused(response: RawResponse, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body as object).sort(), ['code', 'message']);
  assert.equal((response.body as { code: string }).code, code);
}

describe('request timeout (--request-timeout)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ requestTimeout: '1s' });
  });
  after(() => h.stop());

  test('a request that does not arrive whole in time is answered 408 and its connection closed', async () => {
    // The body trickles in: each byte is activity, but the request is never complete.
    const slowBody = await RawConnection.open(h.url);
    slowBody.write(`${AUTHENTICATION}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"uuid"`);
    const trickle = setInterval(() => slowBody.socket.writable && slowBody.write(' '), 250);
    const slowHeaders = await RawConnection.open(h.url);
    slowHeaders.write(AUTHENTICATION);
    const silent = await RawConnection.open(h.url);
    try {
      for (const [name, connection] of Object.entries({ slowBody, slowHeaders, silent })) {
        assertRefused(await connection.response(), 408, 'COURIER_ERR_REQUEST_TIMEOUT');
        await connection.closedWithin().catch((error: Error) => assert.fail(`${name}: ${error.message}`));
      }
    } finally {
      clearInterval(trickle);
    }
    assert.equal((await h.http('GET', '/healthz')).status, 200, 'the listener still serves');
  });

  test('a held long-poll and an open WebSocket outlive the request timeout: their requests had arrived', async () => {
    const pollToken = await h.agentToken('rt-poll');
    const wsToken = await h.agentToken('rt-ws');
    const poll = h.http('GET', '/api/v1/commands', { token: pollToken });
    const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}/api/v1/commands/ws`, { headers: { authorization: `Bearer ${wsToken}` } });
    await once(ws, 'open');
    await eventually(() => {
      const stats = h.courier.supervisor.stats();
      return stats.longPollSubscriptions === 1 && stats.webSocketSubscriptions === 1 ? true : undefined;
    }, 'the poll and the socket to be held');

    // A connection opened after both, closed by the timeout: by then theirs would have been too, were they subject to it.
    const marker = await RawConnection.open(h.url);
    await marker.closedWithin();

    const frame = once(ws, 'message');
    const [forPoll] = await h.send([command({ type: 'agent', id: 'rt-poll' })]);
    const [forWs] = await h.send([command({ type: 'agent', id: 'rt-ws' })]);
    const answer = await poll;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(
      (answer.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [forPoll!.document_id],
    );
    const [data] = (await frame) as [Buffer];
    const pushed = JSON.parse(data.toString()) as { type: string; commands: { document_id: string }[] };
    assert.deepEqual([pushed.type, pushed.commands.map((c) => c.document_id)], ['commands', [forWs!.document_id]]);
    ws.terminate();
  });
});

describe('unauthenticated connections per address (--max-unauthenticated-per-address)', () => {
  const CAP = 3;
  let h: Harness;
  before(async () => {
    h = await startHarness({ maxUnauthenticatedPerAddress: String(CAP) });
  });
  after(() => h.stop());

  const refusedCount = async (api: string) => {
    const text = (await h.admin('GET', '/metrics')).body as string;
    return Number(new RegExp(`^courier_connections_refused_total\\{api="${api}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };

  /** A connection whose request has been answered: the server has accepted (and counted) it. */
  const openServed = async (baseUrl: string, headers: Record<string, string> = {}, path = '/healthz') => {
    const connection = await RawConnection.open(baseUrl);
    connection.request('GET', path, headers);
    const response = await connection.response();
    return { connection, response };
  };

  /** Opens a connection until one is accepted (the server sees a close only some time after the client). */
  const acceptedEventually = (baseUrl: string) =>
    eventually(async () => {
      const { connection, response } = await openServed(baseUrl).catch(() => ({ connection: null, response: null }));
      if (response?.status === 200) return connection!;
      connection?.destroy();
      return undefined;
    }, 'a connection to be accepted again');

  test('agents API: past the cap a new connection is answered 429 at once and closed; authenticated ones carry on', async () => {
    // Taken before the cap is reached: each of these connections authenticates, and stops counting.
    const token = await h.agentToken('cap-1');
    const wsToken = await h.agentToken('cap-ws');
    const key = await h.addAgent('cap-2');
    const poll = h.http('GET', '/api/v1/commands', { token });
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'the poll to be held');
    const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}/api/v1/commands/ws`, { headers: { authorization: `Bearer ${wsToken}` } });
    await once(ws, 'open');

    const idle: RawConnection[] = [];
    for (let i = 0; i < CAP; i++) {
      const { connection, response } = await openServed(h.url);
      assert.equal(response.status, 200);
      idle.push(connection);
    }
    // A failed authentication is no credential: that connection still counts.
    idle[1]!.request('POST', '/api/v1/authentication', {}, { uuid: 'cap-2', key: 'x'.repeat(32) });
    assert.equal((await idle[1]!.response()).status, 401);

    const refused = await RawConnection.open(h.url);
    assertRefused(await refused.response(), 429, 'COURIER_ERR_TOO_MANY_CONNECTIONS');
    await refused.closedWithin();
    assert.equal(await refusedCount('agents'), 1);

    // The authenticated poll and socket were not touched.
    const frame = once(ws, 'message');
    const [forPoll, forWs] = await h.send([command({ type: 'agent', id: 'cap-1' }), command({ type: 'agent', id: 'cap-ws' })]);
    const answer = await poll;
    assert.deepEqual(
      (answer.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [forPoll!.document_id],
    );
    const [data] = (await frame) as [Buffer];
    assert.deepEqual(
      (JSON.parse(data.toString()) as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [forWs!.document_id],
    );
    ws.terminate();

    // An authentication on one of the idle connections takes it out of the count: room for one more.
    idle[0]!.request('POST', '/api/v1/authentication', {}, { uuid: 'cap-2', key });
    assert.equal((await idle[0]!.response()).status, 200);
    const { connection: next, response } = await openServed(h.url);
    assert.equal(response.status, 200);
    assertRefused(await (await RawConnection.open(h.url)).response(), 429, 'COURIER_ERR_TOO_MANY_CONNECTIONS');

    // A closed connection stops counting too.
    idle[2]!.destroy();
    const again = await acceptedEventually(h.url);
    for (const c of [...idle, next, again]) c.destroy();
  });

  test('management API: a valid API key takes a connection out of the count, a wrong one does not', async () => {
    const key = await h.createKey('auditor');
    const before = await refusedCount('management');
    const idle: RawConnection[] = [];
    for (let i = 0; i < CAP; i++) {
      const { connection, response } = await openServed(h.courier.managementUrl, { authorization: 'Bearer courier_wrong' }, '/metrics');
      assert.equal(response.status, 401);
      idle.push(connection);
    }
    assertRefused(await (await RawConnection.open(h.courier.managementUrl)).response(), 429, 'COURIER_ERR_TOO_MANY_CONNECTIONS');
    assert.equal(await refusedCount('management'), before + 1);

    idle[0]!.request('GET', '/metrics', { authorization: `Bearer ${key}` });
    assert.equal((await idle[0]!.response()).status, 200);
    const { connection: next, response } = await openServed(h.courier.managementUrl);
    assert.equal(response.status, 200);
    for (const c of [...idle, next]) c.destroy();
  });
});
