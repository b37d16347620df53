// The sending end of the change feed, against a real HTTP server standing for the other node and
// a directory in memory: who is told what, and when the directory is read again.
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

describe('ChangeNotices: telling the node of a route of the commands created for it', () => {
  let server: Server;
  let peerUrl: string;
  const received: Received[] = [];
  /** What the peer answers next: status and body. */
  let answer: { status: number; body: object } = { status: 200, body: { held: 0, not_served: [] } };
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
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    peerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(async () => {
    await notices?.close();
    received.length = 0;
    answer = { status: 200, body: { held: 0, not_served: [] } };
    now = 1_000_000;
    directory = new MemoryClusterDirectory();
    served = new Set(['agent:here']);
    await directory.announce({ node: 'node-p', url: peerUrl, secret: 'secret-of-p', seen_at: now });
    await directory.connect(
      ['agent:on-p', 'agent:also-on-p'].map((route) => ({ route, transport: 'websocket' as const })),
      'node-p',
      now,
    );
    await directory.connect([{ route: 'agent:on-me', transport: 'websocket' }], 'node-me', now);
    notices = new ChangeNotices({
      directory,
      node: 'node-me',
      serves: (route) => served.has(route),
      versionOf: (id) => (id.startsWith('unstored') ? undefined : `1:${id.length}`),
      maxNoticeBytes: 2000,
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
  });

  const doc = (id: string, route: string, args: Record<string, unknown> = {}) => ({ document_id: id, route, command: { action: { args } } }) as unknown as CommandDocument;
  const announced = (notice: Received) => notice.body.commands.map((c) => [c.document.document_id, c.version]);

  test("the creates of one turn reach their route's node in one notice, as created and at their version, with that node's secret", async () => {
    notices.created([doc('c1', 'agent:on-p'), doc('c2', 'agent:here')]);
    notices.created([doc('c33', 'agent:also-on-p'), doc('unstored', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(received.length, 1);
    assert.equal(received[0]!.path, NOTICE_PATH);
    assert.equal(received[0]!.headers.authorization, 'Bearer secret-of-p');
    assert.equal(received[0]!.body.from, 'node-me');
    assert.deepEqual(received[0]!.body.commands[0]!.document, doc('c1', 'agent:on-p'));
    // A command whose stored version is not known here is not announced: the poll finds it.
    assert.deepEqual(announced(received[0]!), [
      ['c1', '1:2'],
      ['c33', '1:3'],
    ]);
  });

  test('a notice stays within the size the receiving node takes: large commands go in several', async () => {
    const big = { blob: 'x'.repeat(700) };
    notices.created([doc('c1', 'agent:on-p', big), doc('c2', 'agent:on-p', big), doc('c3', 'agent:on-p', big)]);
    await notices.flushed();
    assert.deepEqual(
      received.map((r) => announced(r).map(([id]) => id)),
      [['c1', 'c2'], ['c3']],
    );
    for (const r of received) assert.ok(Buffer.byteLength(JSON.stringify(r.body)) <= 2000);
  });

  test('nobody is told of commands for routes served here, connected nowhere, or recorded as this node’s', async () => {
    notices.created([doc('c1', 'agent:here'), doc('c2', 'agent:nowhere'), doc('c3', 'agent:on-me')]);
    await notices.flushed();
    assert.equal(received.length, 0);
  });

  test('where a route is connected is read once and kept; a node that says it does not serve a route has it read again', async () => {
    notices.created([doc('c1', 'agent:on-p')]);
    await notices.flushed();
    notices.created([doc('c2', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(directory.reads.connections, 1);
    assert.equal(received.length, 2);

    answer = { status: 200, body: { held: 0, not_served: ['agent:on-p'] } };
    notices.created([doc('c3', 'agent:on-p')]);
    await notices.flushed();
    notices.created([doc('c4', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(directory.reads.connections, 2, 'read again after the node said it does not serve the route');
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
    answer = { status: 200, body: { held: 1, not_served: [] } };
    notices.created([doc('c2', 'agent:on-p')]);
    await notices.flushed();
    assert.equal(directory.reads.cards, cardReads + 1);
    assert.equal(received.at(-1)!.headers.authorization, 'Bearer new-secret');
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
