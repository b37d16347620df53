import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

type Commands = { commands: { document_id: string; status: string; action: { name: string } }[] };

describe('agent long-poll (GET /api/v1/commands)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ longPollTimeout: '1s' });
  });
  after(() => h.stop());

  const poll = (token: string) => h.http('GET', '/api/v1/commands', { token });
  const status = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;

  test('a waiting agent receives a command as soon as it is sent, and it becomes delivered', async () => {
    const token = await h.agentToken('lp-1');
    const waiting = poll(token);
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'the poll to be held');
    const [created] = await h.send([command({ type: 'agent', id: 'lp-1' })]);
    assert.equal(created!.status, 'pending');
    const res = await waiting;
    assert.equal(res.status, 200);
    const body = res.body as Commands;
    assert.deepEqual(
      body.commands.map((c) => c.document_id),
      [created!.document_id],
    );
    assert.equal(body.commands[0]!.status, 'sent');
    assert.equal(await eventually(async () => ((await status(created!.document_id)) === 'delivered' ? 'delivered' : undefined), 'delivered'), 'delivered');
  });

  test('commands sent while the agent was away are answered at once on its next poll', async () => {
    const token = await h.agentToken('lp-2');
    const [created] = await h.send([command({ type: 'agent', id: 'lp-2' })]);
    const res = await poll(token);
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.body as Commands).commands.map((c) => c.document_id),
      [created!.document_id],
    );
  });

  test('with nothing to do, the poll ends with the Wazuh 408 body after the timeout', async () => {
    const token = await h.agentToken('lp-3');
    const res = await poll(token);
    assert.equal(res.status, 408);
    assert.deepEqual(res.body, { message: 'Request exceeded the processing time limit', code: 408 });
    assert.equal(h.courier.supervisor.stats().longPollSubscriptions, 0);
  });

  test('per agent, commands arrive in creation order', async () => {
    const token = await h.agentToken('lp-4');
    const actions = ['restart', 'fetch-config', 'update', 'refresh', 'restart'];
    const created = await h.send(actions.map((a) => command({ type: 'agent', id: 'lp-4' }, a)));
    const res = await poll(token);
    assert.deepEqual(
      (res.body as Commands).commands.map((c) => c.document_id),
      created.map((c) => c.document_id),
    );
  });

  test('two concurrent polls of one agent: each command reaches exactly one of them', async () => {
    const token = await h.agentToken('lp-5');
    const polls = [poll(token), poll(token)];
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions >= 2 ? true : undefined), 'both polls to be held');
    const created = await h.send([command({ type: 'agent', id: 'lp-5' })]);
    await h.send([command({ type: 'agent', id: 'lp-5' }, 'fetch-config')]);
    const results = await Promise.all(polls);
    const received = results.flatMap((r) => (r.status === 200 ? (r.body as Commands).commands.map((c) => c.document_id) : []));
    // Both commands were delivered, none twice (one poll may have taken both, the other timed out).
    assert.equal(received.length, 2);
    assert.equal(new Set(received).size, 2);
    assert.ok(received.includes(created[0]!.document_id));
    for (const r of results) assert.ok(r.status === 200 || r.status === 408, `unexpected ${r.status}`);
  });

  test('a group command fans out to each of its 25 members, one document each', async () => {
    const tokens = await Promise.all(Array.from({ length: 25 }, (_, i) => h.agentToken(`fan-${i}`, ['fanout'])));
    const created = await h.send([command({ type: 'group', id: 'fanout' })]);
    assert.equal(created.length, 25);
    assert.equal(new Set(created.map((c) => c.agent.id)).size, 25);
    const answers = await Promise.all(tokens.map((t) => poll(t)));
    const byAgent = answers.map((a) => (a.body as Commands).commands.map((c) => c.document_id));
    for (const [i, ids] of byAgent.entries()) {
      assert.equal(ids.length, 1, `agent fan-${i} received ${ids.length}`);
      assert.equal(created.find((c) => c.document_id === ids[0])!.agent.id, `fan-${i}`);
    }
  });

  test('a result reported as JSON closes the command: code 0 success, other codes failure; a repeat is ignored', async () => {
    const token = await h.agentToken('lp-6');
    const [ok, bad] = await h.send([command({ type: 'agent', id: 'lp-6' }), command({ type: 'agent', id: 'lp-6' })]);
    await poll(token);
    const report = await h.http('POST', '/api/v1/commands/results', {
      token,
      body: {
        results: [
          { document_id: ok!.document_id, code: 0, message: 'restarted' },
          { document_id: bad!.document_id, code: 7, message: 'no permission', data: { errno: 13 } },
        ],
      },
    });
    assert.equal(report.status, 200);
    assert.deepEqual(
      (report.body as { results: { outcome: string; status: string }[] }).results.map((r) => [r.outcome, r.status]),
      [
        ['recorded', 'success'],
        ['recorded', 'failure'],
      ],
    );
    const failed = (await h.admin('GET', `/api/v1/commands/${bad!.document_id}`)).body as { status: string; result: unknown };
    assert.equal(failed.status, 'failure');
    assert.deepEqual(failed.result, { code: 7, message: 'no permission', data: { errno: 13 } });

    const repeat = await h.http('POST', '/api/v1/commands/results', {
      token,
      body: { results: [{ document_id: ok!.document_id, code: 1, message: 'changed my mind' }] },
    });
    const [again] = (repeat.body as { results: { outcome: string; status: string }[] }).results;
    assert.equal(again!.outcome, 'ignored');
    assert.equal(await status(ok!.document_id), 'success');
  });

  test('a result reported in the Wazuh agent NDJSON format is recorded', async () => {
    const token = await h.agentToken('lp-7');
    const [created] = await h.send([command({ type: 'agent', id: 'lp-7' })]);
    await poll(token);
    const ndjson = [
      { agent: { id: 'lp-7', name: 'lp-7', groups: [], type: 'endpoint', version: '5.0.0', host: {} } },
      { id: created!.document_id, module: 'command', operation: 'update' },
      { command: { result: { code: 0, message: 'ok' } } },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const res = await h.http('POST', '/api/v1/events/stateful', {
      token,
      body: ndjson,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { results: [{ index: 'wazuh-commands', id: created!.document_id, result: 'updated', status: 200 }] });
    assert.equal(await status(created!.document_id), 'success');
  });

  test('the history of a command lists every transition in order, with cause, node and actor', async () => {
    const token = await h.agentToken('lp-8');
    const [created] = await h.send([command({ type: 'agent', id: 'lp-8' })]);
    await poll(token);
    await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: created!.document_id, code: 0, message: 'ok' }] } });
    const res = await h.admin('GET', `/api/v1/commands/${created!.document_id}/history`);
    const events = (res.body as { events: { from: string | null; to: string; cause: string; node: string; actor: string }[] }).events;
    assert.deepEqual(
      events.map((e) => [e.from, e.to, e.cause, e.actor]),
      [
        [null, 'pending', 'created', 'user:tester'],
        ['pending', 'sent', 'claimed', 'agent:lp-8'],
        ['sent', 'delivered', 'delivered', 'agent:lp-8'],
        ['delivered', 'success', 'result', 'agent:lp-8'],
      ],
    );
    assert.ok(events.every((e) => e.node === h.config.node));
  });

  test('a command not delivered before its deadline times out', async () => {
    await h.addAgent('lp-9');
    const [created] = await h.send([command({ type: 'agent', id: 'lp-9' }, 'restart', { timeout: 1 })]);
    const final = await eventually(async () => {
      const s = await status(created!.document_id);
      return s === 'pending' ? undefined : s;
    }, 'the delivery deadline');
    assert.equal(final, 'timed_out');
    const history = (await h.admin('GET', `/api/v1/commands/${created!.document_id}/history`)).body as { events: { cause: string }[] };
    assert.equal(history.events.at(-1)!.cause, 'deadline');
  });

  test('an operator can cancel a pending command; the agent never receives it; a delivered one cannot be cancelled', async () => {
    const token = await h.agentToken('lp-10');
    const [doomed, kept] = await h.send([command({ type: 'agent', id: 'lp-10' }), command({ type: 'agent', id: 'lp-10' }, 'fetch-config')]);
    const cancelled = await h.admin('POST', `/api/v1/commands/${doomed!.document_id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal((cancelled.body as { status: string }).status, 'cancelled');
    const res = await poll(token);
    assert.deepEqual(
      (res.body as Commands).commands.map((c) => c.document_id),
      [kept!.document_id],
    );
    await eventually(async () => ((await status(kept!.document_id)) === 'delivered' ? true : undefined), 'delivered');
    const refused = await h.admin('POST', `/api/v1/commands/${kept!.document_id}/cancel`);
    assert.equal(refused.status, 409);
    assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_COMMAND_NOT_CANCELLABLE');
  });

  test('a command pushed again with its document_id is adopted, not duplicated', async () => {
    await h.addAgent('lp-11');
    const first = await h.send([command({ type: 'agent', id: 'lp-11' }, 'restart', { document_id: 'wazuh-doc-1' })]);
    const again = await h.send([command({ type: 'agent', id: 'lp-11' }, 'restart', { document_id: 'wazuh-doc-1' })]);
    assert.equal(first[0]!.document_id, 'wazuh-doc-1');
    assert.equal(again[0]!.document_id, 'wazuh-doc-1');
    const history = (await h.admin('GET', '/api/v1/commands/wazuh-doc-1/history')).body as { events: unknown[] };
    assert.equal(history.events.length, 1);
  });

  test('a client that leaves while its poll is being authenticated leaves no subscription behind', async () => {
    const token = await h.agentToken('lp-gone');
    const { port } = new URL(h.url);
    // The request and the close arrive together: 'close' is emitted while the token is verified.
    await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<void>((resolve) => {
            const socket = connect(Number(port), '127.0.0.1', () => {
              socket.end(`GET /api/v1/commands HTTP/1.1\r\nHost: courier\r\nAuthorization: Bearer ${token}\r\n\r\n`);
              socket.destroy();
            });
            socket.once('close', () => resolve());
          }),
      ),
    );
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 0 ? true : undefined), 'the abandoned polls to be gone');
    // A subscription left behind would be first in line and take (and strand in `sent`) the next
    // command; then this poll would count two subscriptions, and get nothing.
    const poll = h.http('GET', '/api/v1/commands', { token });
    await eventually(() => (h.courier.supervisor.stats().longPollSubscriptions === 1 ? true : undefined), 'only the new poll subscribed');
    const [created] = await h.send([command({ type: 'agent', id: 'lp-gone' })]);
    const res = await poll;
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id),
      [created!.document_id],
    );
  });
});
