import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

const IN_FLIGHT = 5;

/** The agent's commands by status. */
/** How many of `ids` were handed back by a connection that closed (then delivered again). */
async function handedBack(h: Harness, ids: string[]): Promise<number> {
  let count = 0;
  for (const id of ids) {
    const history = (await h.admin('GET', `/api/v1/commands/${id}/history`)).body as { events: { cause: string }[] };
    if (history.events.some((e) => e.cause === 'transport_failed')) count++;
  }
  return count;
}

async function statusesOf(h: Harness, agent: string): Promise<Record<string, string[]>> {
  const res = await h.admin('GET', `/api/v1/commands?agent=${agent}&limit=1000`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const byStatus: Record<string, string[]> = {};
  for (const item of (res.body as { items: { document_id: string; status: string }[] }).items) (byStatus[item.status] ??= []).push(item.document_id);
  return byStatus;
}

/** A socket of the agent that acks every frame as it arrives, and what it received. */
async function healthySocket(h: Harness, token: string): Promise<{ socket: AgentSocket; received: string[] }> {
  const socket = new AgentSocket(h.url, token);
  const received: string[] = [];
  // Listening before the socket opens: the first frame may come with the upgrade's answer.
  socket.ws.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString()) as { type: string; commands?: { document_id: string }[] };
    if (frame.type !== 'commands') return;
    const ids = frame.commands!.map((c) => c.document_id);
    received.push(...ids);
    socket.send({ type: 'ack', ids });
  });
  await socket.open();
  return { socket, received };
}

/** A socket of the agent that never reads what it is sent (its TCP socket is paused). */
async function stuckSocket(h: Harness, token: string): Promise<AgentSocket> {
  const socket = await new AgentSocket(h.url, token).open();
  socket.ws.pause();
  return socket;
}

const commandsFor = (agent: string, count: number) => Array.from({ length: count }, () => command({ type: 'agent', id: agent }, 'restart', { timeout: 3600 }));

describe('WebSocket bounds: in flight (--ws-max-in-flight)', () => {
  let h: Harness;
  before(async () => {
    // Pings out of the way: here only the bounds decide.
    h = await startHarness({ wsMaxInFlight: String(IN_FLIGHT), wsPingInterval: '10m' });
  });
  after(() => h.stop());

  test("a socket that never reads holds at most the bound; the rest wait, and go to the agent's healthy socket", async () => {
    const token = await h.agentToken('lim-1');
    const stuck = await stuckSocket(h, token);
    const created = (await h.send(commandsFor('lim-1', 20))).map((c) => c.document_id);
    await eventually(async () => {
      const s = await statusesOf(h, 'lim-1');
      return s.sent?.length === IN_FLIGHT && s.pending?.length === 20 - IN_FLIGHT ? true : undefined;
    }, `${IN_FLIGHT} sent to the stuck socket, the rest pending`);
    const held = (await statusesOf(h, 'lim-1')).sent!;

    const healthy = await healthySocket(h, token);
    await eventually(async () => ((await statusesOf(h, 'lim-1')).delivered?.length === 20 - IN_FLIGHT ? true : undefined), 'the rest delivered to the healthy socket');
    assert.deepEqual([...healthy.received].sort(), created.filter((id) => !held.includes(id)).sort());
    assert.deepEqual((await statusesOf(h, 'lim-1')).sent!.sort(), [...held].sort(), 'the stuck socket still holds only its first ones');
    stuck.ws.terminate();
    await healthy.socket.close();
  });

  test('a full socket takes more as soon as it acks, or reports results', async () => {
    const socket = await new AgentSocket(h.url, await h.agentToken('lim-2')).open();
    const created = (await h.send(commandsFor('lim-2', 12))).map((c) => c.document_id);
    const nextCommands = async () => {
      for (;;) {
        const frame = await socket.next();
        if (frame.type === 'commands') return frame.commands!.map((c) => c.document_id);
      }
    };
    const first = await nextCommands();
    assert.equal(first.length, IN_FLIGHT);
    socket.send({ type: 'ack', ids: first });
    const second = await nextCommands();
    assert.equal(second.length, IN_FLIGHT);
    // No ack this time: a result takes its command off the socket too.
    for (const id of second) socket.send({ type: 'result', document_id: id, code: 0, message: 'done' });
    const third = await nextCommands();
    assert.equal(third.length, 12 - 2 * IN_FLIGHT);
    socket.send({ type: 'ack', ids: third });
    assert.deepEqual([...first, ...second, ...third], created, 'oldest first');
    await eventually(async () => {
      const s = await statusesOf(h, 'lim-2');
      return s.delivered?.length === 12 - IN_FLIGHT && s.success?.length === IN_FLIGHT ? true : undefined;
    }, 'all delivered or done');
    await socket.close();
  });
});

describe('WebSocket bounds: buffered bytes (--ws-max-buffered-bytes)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ wsMaxBufferedBytes: String(64 * 1024), wsPingInterval: '10m' });
  });
  after(() => h.stop());

  test("once a socket that never reads has a backlog past the bound, commands wait for the agent's other socket", async () => {
    const token = await h.agentToken('lim-3');
    const stuck = await stuckSocket(h, token);
    // Far more than the kernel buffers of a loopback connection take in (12 MB, in commands whose
    // args stay under their 64 KiB bound): the rest must back up in courier.
    const blob = 'x'.repeat(60_000);
    const COUNT = 200;
    for (let i = 0; i < COUNT; i++) {
      await h.send([command({ type: 'agent', id: 'lim-3' }, 'restart', { timeout: 3600, action: { name: 'blob', args: { blob }, version: '1' } })]);
    }
    const healthy = await healthySocket(h, token);
    const settled = await eventually(async () => {
      const s = await statusesOf(h, 'lim-3');
      return (s.pending ?? []).length === 0 && (s.delivered ?? []).length > 0 ? s : undefined;
    }, 'the backlog delivered to the healthy socket');
    assert.equal((settled.sent ?? []).length + settled.delivered!.length, COUNT);
    assert.deepEqual([...healthy.received].sort(), [...settled.delivered!].sort());
    stuck.ws.terminate();
    await healthy.socket.close();
  });
});

describe('WebSocket stall (--ws-stall-timeout)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ wsMaxInFlight: String(IN_FLIGHT), wsStallTimeout: '1s', wsPingInterval: '10m', bodyLimit: String(4 << 20) });
  });
  after(() => h.stop());

  test("a socket at its in-flight bound that acks nothing is closed, and what it held goes to the agent's other socket", async () => {
    const token = await h.agentToken('stall-1');
    await stuckSocket(h, token);
    const created = (await h.send(commandsFor('stall-1', 8))).map((c) => c.document_id);
    const healthy = await healthySocket(h, token);
    await eventually(async () => ((await statusesOf(h, 'stall-1')).delivered?.length === 8 ? true : undefined), 'all eight delivered');
    assert.deepEqual([...healthy.received].sort(), [...created].sort());
    assert.equal(h.courier.supervisor.stats().webSocketSubscriptions, 1, 'only the healthy socket is left');
    assert.equal(await handedBack(h, created), IN_FLIGHT);
    await healthy.socket.close();
  });
});

describe('WebSocket stall (--ws-stall-timeout) on bytes that do not drain', () => {
  let h: Harness;
  const COUNT = 200;
  before(async () => {
    h = await startHarness({ wsMaxInFlight: String(COUNT), wsStallTimeout: '1s', wsPingInterval: '10m' });
  });
  after(() => h.stop());

  test("a socket whose buffered bytes do not go down is closed, and what it held goes to the agent's other socket", async () => {
    const token = await h.agentToken('stall-2');
    await stuckSocket(h, token);
    // Fewer than the in-flight bound, but more bytes (12 MB) than the kernel buffers of a loopback connection take in.
    const blob = 'x'.repeat(60_000);
    const created: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const [c] = await h.send([command({ type: 'agent', id: 'stall-2' }, 'restart', { timeout: 3600, action: { name: 'blob', args: { blob }, version: '1' } })]);
      created.push(c!.document_id);
    }
    const healthy = await healthySocket(h, token);
    await eventually(async () => ((await statusesOf(h, 'stall-2')).delivered?.length === COUNT ? true : undefined), 'all delivered');
    assert.deepEqual([...healthy.received].sort(), [...created].sort());
    assert.equal(h.courier.supervisor.stats().webSocketSubscriptions, 1, 'only the healthy socket is left');
    assert.ok((await handedBack(h, created)) >= 1, 'the stuck socket held some, and handed them back when closed');
    await healthy.socket.close();
  });
});

describe('WebSocket stall (--ws-stall-timeout) when what it held left it unseen', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ wsMaxInFlight: '2', wsStallTimeout: '3s', wsPingInterval: '10m' });
  });
  after(() => h.stop());

  test('a socket at its bound whose commands timed out is not closed as stalled: it takes the next ones', async () => {
    const token = await h.agentToken('stall-3');
    const socket = await new AgentSocket(h.url, token).open();
    // Two that time out a second after they are sent, then one that does not.
    const [first, second] = (await h.send([1, 2].map(() => command({ type: 'agent', id: 'stall-3' }, 'restart', { timeout: 1 })))).map((c) => c.document_id);
    const [third] = (await h.send(commandsFor('stall-3', 1))).map((c) => c.document_id);
    // The first two pushed and never acked (the bound, which makes the socket owe); the third waits.
    const pushed = new Set<string>();
    while (pushed.size < 2) {
      const frame = await socket.next();
      for (const c of frame.commands ?? []) pushed.add(c.document_id);
    }
    assert.deepEqual([...pushed].sort(), [first!, second!].sort());
    // Their deadline makes room, unseen by the agent: the third is pushed; the socket owes one, below its bound.
    const next = await socket.next();
    assert.deepEqual(
      next.commands?.map((c) => c.document_id),
      [third!],
    );
    // Past the stall timeout (3 s from the moment it was at its bound), with a margin: a socket counted as
    // still holding the timed-out two would have been closed.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(socket.ws.readyState, socket.ws.OPEN, 'the socket is open');
    socket.send({ type: 'results', ack: [third!], results: [{ document_id: third!, code: 0, message: 'done' }] });
    assert.equal((await socket.next()).type, 'results_ack');
    await socket.close();
  });
});
