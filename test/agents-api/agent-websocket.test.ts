import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

describe('agent WebSocket (GET /api/v1/commands/ws)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ wsPingInterval: '200ms' });
  });
  after(() => h.stop());

  const status = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;
  const statusBecomes = (id: string, wanted: string) => eventually(async () => ((await status(id)) === wanted ? wanted : undefined), `${id} to become ${wanted}`);

  test('pushes a command, the ack makes it delivered, the result frame closes it', async () => {
    const token = await h.agentToken('ws-1');
    const socket = await new AgentSocket(h.url, token).open();
    const [created] = await h.send([command({ type: 'agent', id: 'ws-1' })]);
    const frame = await socket.next();
    assert.equal(frame.type, 'commands');
    assert.deepEqual(
      frame.commands!.map((c) => c.document_id),
      [created!.document_id],
    );
    assert.equal(await status(created!.document_id), 'sent');

    socket.send({ type: 'ack', ids: [created!.document_id] });
    await statusBecomes(created!.document_id, 'delivered');

    socket.send({ type: 'result', document_id: created!.document_id, code: 0, message: 'done' });
    const ack = await socket.next();
    assert.deepEqual([ack.type, ack.document_id, ack.outcome, ack.status], ['result_ack', created!.document_id, 'recorded', 'success']);

    socket.send({ type: 'result', document_id: created!.document_id, code: 2, message: 'again' });
    const repeat = await socket.next();
    assert.equal(repeat.outcome, 'ignored');
    assert.equal(await status(created!.document_id), 'success');
    await socket.close();
  });

  test('commands pushed but not acked when the socket closes go back to pending and reach the next connection', async () => {
    const token = await h.agentToken('ws-2');
    const first = await new AgentSocket(h.url, token).open();
    const [created] = await h.send([command({ type: 'agent', id: 'ws-2' })]);
    assert.equal((await first.next()).type, 'commands');
    await first.close();
    await statusBecomes(created!.document_id, 'pending');

    const second = await new AgentSocket(h.url, token).open();
    const frame = await second.next();
    assert.deepEqual(
      frame.commands!.map((c) => c.document_id),
      [created!.document_id],
    );
    second.send({ type: 'ack', ids: [created!.document_id] });
    await statusBecomes(created!.document_id, 'delivered');
    const history = (await h.admin('GET', `/api/v1/commands/${created!.document_id}/history`)).body as { events: { cause: string }[] };
    assert.deepEqual(
      history.events.map((e) => e.cause),
      ['created', 'claimed', 'transport_failed', 'claimed', 'delivered'],
    );
    await second.close();
  });

  test('several sockets of one agent: each command goes to exactly one of them', async () => {
    const token = await h.agentToken('ws-3');
    const sockets = await Promise.all([new AgentSocket(h.url, token).open(), new AgentSocket(h.url, token).open()]);
    await eventually(() => (h.courier.supervisor.stats().webSocketSubscriptions >= 2 ? true : undefined), 'both sockets subscribed');
    const received: string[] = [];
    const collect = async (s: AgentSocket) => {
      for (;;) {
        const frame = await s.next().catch(() => null);
        if (!frame) return; // quiet: the test is over
        if (frame.type !== 'commands') continue;
        received.push(...frame.commands!.map((c) => c.document_id));
        s.send({ type: 'ack', ids: frame.commands!.map((c) => c.document_id) });
      }
    };
    for (const s of sockets) void collect(s);
    const created: string[] = [];
    for (let i = 0; i < 6; i++) created.push(...(await h.send([command({ type: 'agent', id: 'ws-3' })])).map((c) => c.document_id));
    await eventually(() => (received.length >= 6 ? true : undefined), 'all six commands');
    for (const id of created) await statusBecomes(id, 'delivered');
    assert.deepEqual([...received].sort(), [...created].sort());
    for (const s of sockets) await s.close();
  });

  test('an ack naming any id not in flight on this socket is refused whole: nothing is acked', async () => {
    const own = await new AgentSocket(h.url, await h.agentToken('ws-5')).open();
    const other = await new AgentSocket(h.url, await h.agentToken('ws-6')).open();
    const [mine] = await h.send([command({ type: 'agent', id: 'ws-5' }, 'restart', { timeout: 3600 })]);
    const [theirs] = await h.send([command({ type: 'agent', id: 'ws-6' }, 'restart', { timeout: 3600 })]);
    assert.equal((await own.next()).type, 'commands');
    assert.equal((await other.next()).type, 'commands');

    for (const ids of [
      [mine!.document_id, theirs!.document_id],
      [mine!.document_id, 'no-such-command'],
      ['no-such-command', mine!.document_id],
    ]) {
      own.send({ type: 'ack', ids });
      const error = await own.next();
      assert.deepEqual([error.type, error.code], ['error', 'COURIER_ERR_VALIDATION'], JSON.stringify(ids));
      assert.match(error.message!, /^Not awaiting an ack on this connection/);
      assert.doesNotMatch(error.message!, new RegExp(mine!.document_id), 'only the offending ids are named');
      assert.equal(await status(mine!.document_id), 'sent', `${JSON.stringify(ids)} acked the own command`);
      assert.equal(await status(theirs!.document_id), 'sent');
    }
    // The same own id twice is still an ack of it.
    own.send({ type: 'ack', ids: [mine!.document_id, mine!.document_id] });
    await statusBecomes(mine!.document_id, 'delivered');
    other.send({ type: 'ack', ids: [theirs!.document_id] });
    await statusBecomes(theirs!.document_id, 'delivered');
    await own.close();
    await other.close();
  });

  test('a pushed command that ends before its ack (result, deadline) leaves the socket: a late ack of it is refused', async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('ws-7')).open();
    const [reported] = await h.send([command({ type: 'agent', id: 'ws-7' }, 'restart', { timeout: 3600 })]);
    assert.equal((await socket.next()).type, 'commands');
    socket.send({ type: 'result', document_id: reported!.document_id, code: 0, message: 'done without an ack' });
    assert.equal((await socket.next()).outcome, 'recorded');

    const [expiring] = await h.send([command({ type: 'agent', id: 'ws-7' }, 'restart', { timeout: 1 })]);
    assert.equal((await socket.next()).type, 'commands');
    await statusBecomes(expiring!.document_id, 'timed_out');

    for (const id of [reported!.document_id, expiring!.document_id]) {
      socket.send({ type: 'ack', ids: [id] });
      const refused = await socket.next();
      assert.deepEqual([refused.type, refused.code], ['error', 'COURIER_ERR_VALIDATION'], `late ack of ${id}`);
      assert.match(refused.message!, new RegExp(id));
    }
    assert.equal(await status(reported!.document_id), 'success');
    assert.equal(await status(expiring!.document_id), 'timed_out');
    await socket.close();
    // Nothing was left in flight to hand back when the socket closed.
    for (const id of [reported!.document_id, expiring!.document_id]) {
      const history = (await h.admin('GET', `/api/v1/commands/${id}/history`)).body as { events: { cause: string }[] };
      assert.ok(!history.events.some((e) => e.cause === 'transport_failed'), JSON.stringify(history.events));
    }
  });

  test('one results frame acks and reports several commands: each is delivered, then ends, and one results_ack answers them all', async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('ws-8')).open();
    const created = await h.send([command({ type: 'agent', id: 'ws-8' }), command({ type: 'agent', id: 'ws-8' })]);
    const ids = created.map((c) => c.document_id);
    const pushed: string[] = [];
    while (pushed.length < 2) pushed.push(...(await socket.next()).commands!.map((c) => c.document_id));
    assert.deepEqual(pushed.sort(), [...ids].sort());
    socket.send({
      type: 'results',
      ack: ids,
      results: [
        { document_id: ids[0], code: 0, message: 'done' },
        { document_id: ids[1], code: 3, message: 'failed' },
      ],
    });
    const answer = await socket.next();
    assert.equal(answer.type, 'results_ack');
    assert.deepEqual(
      answer.results!.map((r) => [r.document_id, r.outcome, r.status]),
      [
        [ids[0], 'recorded', 'success'],
        [ids[1], 'recorded', 'failure'],
      ],
    );
    // The ack is in the trail before the result: nothing of the lifecycle is skipped by the batching.
    for (const id of ids) {
      const history = (await h.admin('GET', `/api/v1/commands/${id}/history`)).body as { events: { cause: string }[] };
      assert.deepEqual(
        history.events.map((e) => e.cause),
        ['created', 'claimed', 'delivered', 'result'],
      );
    }
    await socket.close();
  });

  test('a results frame naming an ack not in flight, or a bad result, is refused whole: nothing of it is taken', async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('ws-9')).open();
    const [created] = await h.send([command({ type: 'agent', id: 'ws-9' }, 'restart', { timeout: 3600 })]);
    assert.equal((await socket.next()).type, 'commands');
    const id = created!.document_id;
    const refusals: [object, RegExp][] = [
      [{ type: 'results', ack: [id, 'no-such-command'], results: [{ document_id: id, code: 0, message: 'done' }] }, /^Not awaiting an ack on this connection: \[no-such-command\]/],
      [{ type: 'results', ack: [id], results: [] }, /^Expected/],
      [{ type: 'results', ack: [id], results: [{ document_id: id, code: 'zero', message: 'done' }] }, /^Expected/],
      [{ type: 'results', ack: [id], results: [{ document_id: id, code: 0, message: 'done' }], extra: true }, /^Expected/],
    ];
    for (const [frame, message] of refusals) {
      socket.send(frame);
      const error = await socket.next();
      assert.deepEqual([error.type, error.code], ['error', 'COURIER_ERR_VALIDATION'], JSON.stringify(frame));
      assert.match(error.message!, message);
      assert.equal(await status(id), 'sent', `${JSON.stringify(frame)} changed the command`);
    }
    // Results alone (no ack) are taken as well.
    socket.send({ type: 'results', results: [{ document_id: id, code: 0, message: 'done' }] });
    assert.deepEqual(
      (await socket.next()).results!.map((r) => r.outcome),
      ['recorded'],
    );
    assert.equal(await status(id), 'success');
    await socket.close();
  });

  test("a results frame's ack of a command whose result it carries is passed over when that command has ended: the frame's other results are taken", async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('ws-10')).open();
    const [first, second] = await h.send([
      command({ type: 'agent', id: 'ws-10' }, 'restart', { timeout: 3600 }),
      command({ type: 'agent', id: 'ws-10' }, 'restart', { timeout: 3600 }),
    ]);
    const ids = [first!.document_id, second!.document_id];
    const pushed: string[] = [];
    while (pushed.length < 2) pushed.push(...(await socket.next()).commands!.map((c) => c.document_id));
    // The first one's result arrives alone first (an outbox re-sent on reconnect, say)...
    socket.send({ type: 'results', results: [{ document_id: ids[0], code: 0, message: 'done' }] });
    assert.deepEqual(
      (await socket.next()).results!.map((r) => r.outcome),
      ['recorded'],
    );
    // ...then a frame acking both and reporting both: the second is delivered and ends.
    socket.send({ type: 'results', ack: ids, results: ids.map((id) => ({ document_id: id, code: 0, message: 'done' })) });
    const answer = await socket.next();
    assert.equal(answer.type, 'results_ack', JSON.stringify(answer));
    assert.deepEqual(
      answer.results!.map((r) => [r.document_id, r.outcome]),
      [
        [ids[0], 'ignored'],
        [ids[1], 'recorded'],
      ],
    );
    assert.equal(await status(ids[1]!), 'success');
    const history = (await h.admin('GET', `/api/v1/commands/${ids[1]}/history`)).body as { events: { cause: string }[] };
    assert.deepEqual(
      history.events.map((e) => e.cause),
      ['created', 'claimed', 'delivered', 'result'],
    );
    await socket.close();
  });

  test('a socket that stops answering pings is closed and its unacked commands are redelivered', async () => {
    const token = await h.agentToken('ws-4');
    const silent = await new AgentSocket(h.url, token, { autoPong: false }).open();
    const [created] = await h.send([command({ type: 'agent', id: 'ws-4' })]);
    assert.equal((await silent.next()).type, 'commands');
    await once(silent.ws, 'close');
    await statusBecomes(created!.document_id, 'pending');
  });
});
