import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

type Commands = { commands: { document_id: string }[] };

/**
 * Long-poll acknowledgements (`GET /api/v1/commands?ack=…`): an agent that acknowledges has a
 * command recorded `delivered` only when its next poll names it; what it does not name (an
 * answer it never read) is sent again.
 */
describe('agent long-poll with acknowledgements', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ longPollTimeout: '2s' });
  });
  after(() => h.stop());

  const path = (acked: string[] | null) => (acked === null ? '/api/v1/commands' : `/api/v1/commands?ack=${acked.map(encodeURIComponent).join(',')}`);
  const poll = (token: string, acked: string[] | null) => h.http('GET', path(acked), { token });
  const ids = (res: { body: unknown }) => (res.body as Commands).commands.map((c) => c.document_id);
  const status = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;
  const causes = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}/history`)).body as { events: { cause: string }[] }).events.map((e) => e.cause);
  const awaitingAck = () => h.courier.supervisor.stats().longPollAnswersAwaitingAck;
  const noneAwaiting = () => eventually(() => (awaitingAck() === 0 ? true : undefined), 'no answer awaiting its acknowledgement');

  /**
   * A poll whose answer the agent never reads: the connection is destroyed as soon as the answer's
   * first bytes arrive (courier has written it all out by then). Resolves with the status line's code.
   */
  const pollAndDrop = (token: string, acked: string[] | null) =>
    new Promise<number>((resolve, reject) => {
      const req = request(new URL(path(acked), h.url), { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });

  test('a command answered to an acking agent stays sent until its next poll names it, then it is delivered', async () => {
    const token = await h.agentToken('ack-1');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-1' })]);
    const id = created!.document_id;
    const first = await poll(token, []);
    assert.equal(first.status, 200);
    assert.deepEqual(ids(first), [id]);
    await eventually(() => (awaitingAck() === 1 ? true : undefined), 'the answer to await its acknowledgement');
    assert.equal(await status(id), 'sent', 'written out is not delivered for an acking agent');

    const next = poll(token, [id]);
    await eventually(async () => ((await status(id)) === 'delivered' ? true : undefined), 'delivered once named');
    assert.equal(awaitingAck(), 0);
    assert.deepEqual(await causes(id), ['created', 'claimed', 'delivered']);
    assert.equal((await next).status, 408);
  });

  test('an answer the agent never read is sent again on its next poll, and is delivered once', async () => {
    const token = await h.agentToken('ack-2');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-2' })]);
    const id = created!.document_id;
    assert.equal(await pollAndDrop(token, []), 200);
    await eventually(() => (awaitingAck() === 1 ? true : undefined), 'the dropped answer to await its acknowledgement');
    assert.equal(await status(id), 'sent');

    // Nothing was read, so nothing is named: the command is in this answer again.
    const again = await poll(token, []);
    assert.deepEqual(ids(again), [id]);
    await poll(token, [id]).catch(() => undefined);
    assert.equal(await status(id), 'delivered');
    assert.deepEqual(await causes(id), ['created', 'claimed', 'transport_failed', 'claimed', 'delivered']);
  });

  test('of an answer of several, the ones named are delivered and the others sent again', async () => {
    const token = await h.agentToken('ack-3');
    const created = await h.send(['restart', 'fetch-config', 'update'].map((a) => command({ type: 'agent', id: 'ack-3' }, a)));
    const [a, b, c] = created.map((x) => x.document_id) as [string, string, string];
    assert.deepEqual(ids(await poll(token, [])), [a, b, c]);
    const second = await poll(token, [a, c]);
    assert.deepEqual(ids(second), [b]);
    assert.equal(await status(a), 'delivered');
    assert.equal(await status(c), 'delivered');
    assert.equal(await status(b), 'sent');
    void poll(token, [b]);
    await eventually(async () => ((await status(b)) === 'delivered' ? true : undefined), 'the second answer acknowledged');
    await noneAwaiting();
  });

  test('a result reported for a command awaiting its acknowledgement ends it; the answer has nothing left to wait for', async () => {
    const token = await h.agentToken('ack-4');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-4' })]);
    const id = created!.document_id;
    assert.deepEqual(ids(await poll(token, [])), [id]);
    await eventually(() => (awaitingAck() === 1 ? true : undefined), 'awaiting');
    const report = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: id, code: 0, message: 'ok' }] } });
    assert.equal(report.status, 200);
    assert.equal(await status(id), 'success');
    assert.equal(awaitingAck(), 0);
    assert.deepEqual(await causes(id), ['created', 'claimed', 'result']);
  });

  test("an agent's WebSocket settles its unacknowledged long-poll answer: what it did not name comes over the socket", async () => {
    const token = await h.agentToken('ack-5');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-5' })]);
    const id = created!.document_id;
    assert.equal(await pollAndDrop(token, []), 200);
    await eventually(() => (awaitingAck() === 1 ? true : undefined), 'awaiting');
    const socket = await new AgentSocket(h.url, token).open();
    const frame = await socket.next();
    assert.deepEqual(
      frame.commands!.map((cmd) => cmd.document_id),
      [id],
    );
    socket.send({ type: 'ack', ids: [id] });
    await eventually(async () => ((await status(id)) === 'delivered' ? true : undefined), 'delivered over the socket');
    assert.equal(awaitingAck(), 0);
    await socket.close();
  });

  test("an ack naming another agent's command, or unknown ids, changes nothing", async () => {
    const owner = await h.agentToken('ack-6');
    const other = await h.agentToken('ack-7');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-6' })]);
    const id = created!.document_id;
    assert.deepEqual(ids(await poll(owner, [])), [id]);
    await eventually(() => (awaitingAck() === 1 ? true : undefined), 'awaiting');
    const res = await poll(other, [id, 'no-such-command']);
    assert.equal(res.status, 408);
    assert.equal(await status(id), 'sent');
    assert.equal(awaitingAck(), 1);
    void poll(owner, [id]);
    await eventually(async () => ((await status(id)) === 'delivered' ? true : undefined), 'delivered once its own agent names it');
    await noneAwaiting();
  });

  test('bad ack parameters are refused with 400 and change nothing', async () => {
    const token = await h.agentToken('ack-8');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-8' })]);
    const id = created!.document_id;
    const tooMany = Array.from({ length: 1001 }, (_, i) => `c${i}`);
    const refused = await poll(token, tooMany);
    assert.equal(refused.status, 400);
    assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_VALIDATION');
    const twice = await h.http('GET', '/api/v1/commands?ack=a&ack=b', { token });
    assert.equal(twice.status, 400);
    const unknown = await h.http('GET', '/api/v1/commands?acks=a', { token });
    assert.equal(unknown.status, 400);
    assert.equal(await status(id), 'pending', 'a refused poll takes nothing');
    assert.equal(h.courier.supervisor.connectionOf('agent:ack-8'), 'offline');
  });

  test('a poll without ack (a Wazuh agent) keeps its semantics: the answer written out is delivered', async () => {
    const token = await h.agentToken('ack-9');
    const [created] = await h.send([command({ type: 'agent', id: 'ack-9' })]);
    assert.deepEqual(ids(await poll(token, null)), [created!.document_id]);
    await eventually(async () => ((await status(created!.document_id)) === 'delivered' ? true : undefined), 'delivered');
    assert.equal(awaitingAck(), 0);
  });

  test('a server component acknowledges on the admin socket the same way', async () => {
    const [created] = await h.send([command({ type: 'server', id: 'rbac' })]);
    const id = created!.document_id;
    const componentPoll = (ack: string) => h.admin('GET', `/api/v1/commands?target_type=server&target_id=rbac&ack=${ack}`);
    const first = await componentPoll('');
    assert.deepEqual(ids(first), [id]);
    await eventually(() => (awaitingAck() === 1 ? true : undefined), 'awaiting');
    assert.equal(await status(id), 'sent');
    void componentPoll(id);
    await eventually(async () => ((await status(id)) === 'delivered' ? true : undefined), 'delivered once named');
    const listWithAck = await h.admin('GET', '/api/v1/commands?limit=5&ack=x');
    assert.equal(listWithAck.status, 400);
  });
});

describe('agent long-poll with acknowledgements: connection churn', () => {
  let h: Harness;
  before(async () => {
    // One command per answer, so that every dropped answer is one command's delivery lost.
    h = await startHarness({ longPollTimeout: '2s', maxCommandsPerDelivery: '1' });
  });
  after(() => h.stop());

  test('500+ answers dropped unread: every command still runs, once, and ends in success', async () => {
    const token = await h.agentToken('churn');
    const created = await h.send(Array.from({ length: 300 }, () => command({ type: 'agent', id: 'churn' })));
    const wanted = new Set(created.map((c) => c.document_id));
    const ran = new Set<string>();
    let dropped = 0;
    let read: string[] = [];
    // Two answers of every three are dropped unread (the connection dies as they arrive).
    for (let poll = 0; ran.size < wanted.size; poll++) {
      assert.ok(poll < 5_000, `still ${wanted.size - ran.size} commands not received after ${poll} polls`);
      const url = new URL(`/api/v1/commands?ack=${read.join(',')}`, h.url);
      const drop = poll % 3 !== 2;
      const answer = await new Promise<{ status: number; body?: Commands }>((resolve, reject) => {
        const req = request(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
          if (drop) {
            req.destroy();
            return resolve({ status: res.statusCode ?? 0 });
          }
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Commands }));
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.end();
      });
      // While commands are missing, the route always has one to give: a 408 would mean one was lost.
      assert.equal(answer.status, 200, `poll ${poll}: ${wanted.size - ran.size} commands never arrived and nothing is left to deliver`);
      if (drop) {
        dropped++;
        read = [];
        continue;
      }
      read = answer.body!.commands.map((c) => c.document_id);
      for (const id of read) ran.add(id);
      if (read.length > 0) {
        const results = read.map((document_id) => ({ document_id, code: 0, message: 'ok' }));
        assert.equal((await h.http('POST', '/api/v1/commands/results', { token, body: { results } })).status, 200);
      }
    }
    assert.ok(dropped >= 500, `only ${dropped} answers were dropped`);
    assert.deepEqual([...ran].sort(), [...wanted].sort());
    const listed = (await h.admin('GET', '/api/v1/commands?target_type=agent&target_id=churn&limit=500')).body as { items: { status: string }[] };
    assert.deepEqual(
      listed.items.map((c) => c.status),
      created.map(() => 'success'),
    );
  });
});
