import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

interface Frame {
  type: string;
  commands?: { document_id: string; status: string }[];
  document_id?: string;
  outcome?: string;
  status?: string;
  code?: string;
}

/** A WebSocket client that queues incoming frames so a test can await the next one. */
class AgentSocket {
  readonly ws: WebSocket;
  private readonly frames: Frame[] = [];
  private waiters: ((frame: Frame) => void)[] = [];

  constructor(url: string, token: string, options: WebSocket.ClientOptions = {}) {
    const wsUrl = url.replace(/^http/, 'ws') + '/api/v1/commands/ws';
    this.ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, ...options });
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
  }

  async open(): Promise<this> {
    await once(this.ws, 'open');
    return this;
  }

  next(): Promise<Frame> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await once(this.ws, 'close');
  }
}

describe('agent WebSocket (GET /api/v1/commands/ws)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ wsPingInterval: '200ms' });
  });
  after(() => h.stop());

  const status = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;
  const statusBecomes = (id: string, wanted: string) =>
    eventually(async () => ((await status(id)) === wanted ? wanted : undefined), `${id} to become ${wanted}`);

  test('pushes a command, the ack makes it delivered, the result frame closes it', async () => {
    const token = await h.agentToken('ws-1');
    const socket = await new AgentSocket(h.url, token).open();
    const [created] = await h.send([command({ type: 'agent', id: 'ws-1' })]);
    const frame = await socket.next();
    assert.equal(frame.type, 'commands');
    assert.deepEqual(frame.commands!.map((c) => c.document_id), [created!.document_id]);
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
    assert.deepEqual(frame.commands!.map((c) => c.document_id), [created!.document_id]);
    second.send({ type: 'ack', ids: [created!.document_id] });
    await statusBecomes(created!.document_id, 'delivered');
    const history = (await h.admin('GET', `/api/v1/commands/${created!.document_id}/history`)).body as { events: { cause: string }[] };
    assert.deepEqual(history.events.map((e) => e.cause), ['created', 'claimed', 'transport_failed', 'claimed', 'delivered']);
    await second.close();
  });

  test('several sockets of one agent: each command goes to exactly one of them', async () => {
    const token = await h.agentToken('ws-3');
    const sockets = await Promise.all([new AgentSocket(h.url, token).open(), new AgentSocket(h.url, token).open()]);
    await eventually(() => (h.courier.supervisor.stats().webSocketSubscriptions >= 2 ? true : undefined), 'both sockets subscribed');
    const received: string[] = [];
    const collect = async (s: AgentSocket) => {
      for (;;) {
        const frame = await s.next();
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

  test('a socket that stops answering pings is closed and its unacked commands are redelivered', async () => {
    const token = await h.agentToken('ws-4');
    const silent = await new AgentSocket(h.url, token, { autoPong: false }).open();
    const [created] = await h.send([command({ type: 'agent', id: 'ws-4' })]);
    assert.equal((await silent.next()).type, 'commands');
    await once(silent.ws, 'close');
    await statusBecomes(created!.document_id, 'pending');
  });
});
