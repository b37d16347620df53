// The sending end of the change feed, against real HTTP servers standing for the other nodes and a
// directory in memory: who is told what, when the directory is read again, and that a node that does
// not answer delays no other.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ChangeNotices, NOTICE_PATH, type NoticeCommand } from '../../src/cluster/change-notices.js';
import { STALE_AFTER_MS } from '../../src/cluster/cluster-membership.js';
import type { CommandDocument } from '../../src/domain/command.js';
import { MemoryClusterDirectory } from '../support/memory-cluster-directory.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: { from: string; commands: NoticeCommand[] };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('ChangeNotices: telling the node of a route of the commands created for it', () => {
  let server: Server;
  let peerUrl: string;
  /** A node that takes connections and never answers. */
  let silent: Server;
  let silentUrl: string;
  const received: Received[] = [];
  let onReceived: (() => void) | null = null;
  /** What the peer answers next: status and body. */
  let answer: { status: number; body: object } = { status: 200, body: { served: 0, not_served: [] } };
  let directory: MemoryClusterDirectory;
  let served: Set<string>;
  let now: number;
  let notices: ChangeNotices;

  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        received.push({ path: req.url!, headers: req.headers, body: JSON.parse(text) });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
        onReceived?.();
      });
    });
    peerUrl = await listen(server);
    silent = createServer(() => {});
    silentUrl = await listen(silent);
  });
  after(async () => {
    silent.closeAllConnections();
    await Promise.all([new Promise((resolve) => server.close(resolve)), new Promise((resolve) => silent.close(resolve))]);
  });

  beforeEach(async () => {
    await notices?.close();
    received.length = 0;
    answer = { status: 200, body: { served: 0, not_served: [] } };
    now = 1_000_000;
    directory = new MemoryClusterDirectory();
    served = new Set(['agent:here']);
    await directory.announce({ node: 'node-p', url: peerUrl, secret: 'secret-of-p', seen_at: now });
    await directory.announce({ node: 'node-silent', url: silentUrl, secret: 'secret-of-silent', seen_at: now });
    await directory.connect(
      ['agent:on-p', 'agent:also-on-p'].map((route) => ({ route, transport: 'websocket' as const })),
      'node-p',
      now,
    );
    await directory.connect([{ route: 'agent:on-silent', transport: 'long-poll' }], 'node-silent', now);
    await directory.connect([{ route: 'agent:on-me', transport: 'websocket' }], 'node-me', now);
    notices = new ChangeNotices({ directory, node: 'node-me', serves: (route) => served.has(route), logger: pino({ level: 'silent' }), now: () => now });
  });

  const doc = (id: string, route: string) => ({ document_id: id, route }) as CommandDocument;

  test("the creates of one turn reach their route's node in one notice, with that node's secret", async () => {
    notices.created([doc('c1', 'agent:on-p'), doc('c2', 'agent:here')]);
    notices.created([doc('c3', 'agent:also-on-p')]);
    await notices.flushed();
    assert.equal(received.length, 1);
    assert.equal(received[0]!.path, NOTICE_PATH);
    assert.equal(received[0]!.headers.authorization, 'Bearer secret-of-p');
    assert.deepEqual(received[0]!.body, {
      from: 'node-me',
      commands: [
        { document_id: 'c1', route: 'agent:on-p' },
        { document_id: 'c3', route: 'agent:also-on-p' },
      ],
    });
  });

  test('nobody is told of commands for routes served here, connected nowhere, or recorded as this node’s', async () => {
    notices.created([doc('c1', 'agent:here'), doc('c2', 'agent:nowhere'), doc('c3', 'agent:on-me')]);
    await notices.flushed();
    assert.equal(received.length, 0);
  });

  test('where a route is connected is read once and kept, "nowhere" is not kept (it may connect at once), and a node that says it does not serve a route has it read again', async () => {
    notices.created([doc('c1', 'agent:on-p')]);
    await notices.flushed();
    notices.created([doc('c3', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(directory.reads.connections, 1);
    notices.created([doc('c4', 'agent:nowhere')]);
    await notices.flushed();
    await directory.connect([{ route: 'agent:nowhere', transport: 'websocket' }], 'node-p', now);
    notices.created([doc('c5', 'agent:nowhere')]);
    await notices.flushed();
    assert.equal(directory.reads.connections, 3);
    assert.deepEqual(
      received.at(-1)!.body.commands.map((c) => c.document_id),
      ['c5'],
      'told as soon as it is connected',
    );

    answer = { status: 200, body: { served: 0, not_served: ['agent:on-p'] } };
    notices.created([doc('c6', 'agent:on-p')]);
    await notices.flushed();
    notices.created([doc('c7', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(directory.reads.connections, 4, 'read again after the node said it does not serve the route');
  });

  test('a node whose card is stale (it stopped saying it is alive) is not told', async () => {
    now += STALE_AFTER_MS;
    notices.created([doc('c1', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(received.length, 0);
  });

  test('a node that refuses the notice has its card read again next time (it restarted with a new secret)', async () => {
    answer = { status: 401, body: { message: 'no', code: 'COURIER_ERR_NOT_A_PEER' } };
    notices.created([doc('c1', 'agent:on-p')]);
    await notices.flushed();
    const cardReads = directory.reads.cards;
    await directory.announce({ node: 'node-p', url: peerUrl, secret: 'new-secret', seen_at: now });
    answer = { status: 200, body: { served: 1, not_served: [] } };
    notices.created([doc('c2', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(directory.reads.cards, cardReads + 1);
    assert.equal(received.at(-1)!.headers.authorization, 'Bearer new-secret');
  });

  test('a node that does not answer delays no other, and close cuts what is under way', async () => {
    const told = new Promise<void>((resolve) => (onReceived = resolve));
    notices.created([doc('c1', 'agent:on-silent')]);
    notices.created([doc('c2', 'agent:on-p')]);
    // node-p is told while the notice to node-silent hangs (its timeout is seconds away).
    await told;
    onReceived = null;
    assert.deepEqual(received[0]!.body.commands, [{ document_id: 'c2', route: 'agent:on-p' }]);
    await notices.close();
  });

  test('a node that cannot be reached is not tried again for a while: its notices are left to its poll', async () => {
    const gone = createServer();
    const goneUrl = await listen(gone);
    await new Promise((resolve) => gone.close(resolve)); // nothing listens there now
    await directory.announce({ node: 'node-gone', url: goneUrl, secret: 's', seen_at: now });
    await directory.connect([{ route: 'agent:on-gone', transport: 'websocket' }], 'node-gone', now);
    notices.created([doc('c1', 'agent:on-gone')]);
    await notices.flushed();

    // It comes back at once, but is not tried again before the back-off has passed.
    const back: string[] = [];
    const revived = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        back.push(...(JSON.parse(text) as Received['body']).commands.map((c) => c.document_id));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"served":1,"not_served":[]}');
      });
    });
    await new Promise<void>((resolve) => revived.listen(Number(new URL(goneUrl).port), '127.0.0.1', resolve));
    try {
      notices.created([doc('c2', 'agent:on-gone')]);
      await notices.flushed();
      assert.deepEqual(back, []);
      now += 10_000;
      await directory.announce({ node: 'node-gone', url: goneUrl, secret: 's', seen_at: now });
      notices.created([doc('c3', 'agent:on-gone')]);
      await notices.flushed();
      assert.deepEqual(back, ['c3']);
    } finally {
      await notices.close();
      revived.closeAllConnections();
      await new Promise((resolve) => revived.close(resolve));
    }
  });

  test('a directory that cannot be read loses the notice, not the command: nothing is thrown', async () => {
    directory.connections = async () => {
      throw new Error('cluster down');
    };
    notices.created([doc('c1', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(received.length, 0);
  });
});
