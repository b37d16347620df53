import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import pino from 'pino';
import { createHttpApp, type HttpApp } from '../../src/http/app.js';
import { registerEventStream, type EventStreams } from '../../src/operator-routes/event-stream.js';
import type { Supervisor } from '../../src/runtime/supervisor.js';
import type { OperatorStore } from '../../src/store/operator-store.js';

/**
 * The SSE route against a store whose first read the test holds open, so that a client can leave
 * exactly while the handler awaits it: whatever the stream took (a commit listener, a keepalive
 * timer) must be let go of all the same.
 */
describe('management API: an event stream whose client leaves early leaves nothing behind', () => {
  let app: HttpApp;
  let streams: EventStreams;
  let port: number;
  const listeners = new Set<() => void>();
  const supervisor = {
    onCommitted(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as Supervisor;
  /** Calls of `latestAuditId` wait here until the test lets them go. */
  let held: { reached: () => void; release: () => void } | null = null;
  const store = {
    async latestAuditId() {
      if (!held) return '0';
      const gate = held;
      await new Promise<void>((resolve) => {
        gate.release = resolve;
        gate.reached();
      });
      return '0';
    },
    async queryAudit() {
      return { items: [], next: null };
    },
  } as unknown as OperatorStore;

  before(async () => {
    app = await createHttpApp({ logger: pino({ level: 'silent' }), bodyLimit: 1 << 20, requestTimeoutMs: 30_000, openapi: { title: 't', description: 't' } });
    streams = registerEventStream(app, supervisor, store, () => ({ targets: [], actions: [] }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(() => app.close());

  /** Sends the request on a raw socket; resolves with the socket once the server side has it. */
  async function request(): Promise<{ client: Socket; serverClosed: Promise<void> }> {
    const serverSide = new Promise<Socket>((resolve) => app.server.once('connection', resolve));
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.write('GET /api/v1/events/stream HTTP/1.1\r\nHost: courier\r\nAccept: text/event-stream\r\n\r\n');
    const socket = await serverSide;
    return { client, serverClosed: new Promise((resolve) => socket.once('close', () => resolve())) };
  }
  /** Lets the handler run to its end: what it still does after the store answers is promise jobs, all run before the next I/O turn. */
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  test('control: a client that stays has one listener, and leaving removes it', async () => {
    const { client, serverClosed } = await request();
    await new Promise((resolve) => client.once('data', resolve));
    assert.equal(listeners.size, 1);
    assert.equal(streams.openStreams(), 1);
    client.destroy();
    await serverClosed;
    await settle();
    assert.equal(listeners.size, 0);
    assert.equal(streams.openStreams(), 0);
  });

  test('a client gone while the handler awaits the store: no listener, no stream left', async () => {
    let reached!: () => void;
    const atStore = new Promise<void>((resolve) => (reached = resolve));
    held = { reached, release: () => {} };
    const { client, serverClosed } = await request();
    await atStore;
    client.destroy();
    await serverClosed;
    const gate = held;
    held = null;
    gate.release();
    await settle();
    assert.equal(listeners.size, 0, 'a commit listener was left behind');
    assert.equal(streams.openStreams(), 0, 'a stream was left open');
  });

  test('on shutdown, every open stream is ended and lets go of its listener', async () => {
    const { client } = await request();
    await new Promise((resolve) => client.once('data', resolve));
    assert.equal(listeners.size, 1);
    const ended = new Promise((resolve) => client.once('close', resolve));
    await app.close();
    await ended;
    assert.equal(listeners.size, 0);
    assert.equal(streams.openStreams(), 0);
  });
});
