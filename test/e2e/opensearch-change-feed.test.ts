// The change feed between nodes: a command created on node A for an agent connected to node B
// reaches the agent at once, B being told by A, not at B's next poll (every 10 minutes here, so a
// command the feed does not carry is not delivered within the test). Both nodes serve TLS with
// CAs of their own: A reaches B's management API by the address and CA fingerprint on B's card.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOTICE_PATH } from '../../src/cluster/change-notices.js';
import { requestJson, type JsonResponse } from '../../src/http-client.js';
import { indexNames, type IndexNames } from '../../src/store/opensearch/indices.js';
import { AgentSocket } from '../support/agent-socket.js';
import { command, eventually, startHarnesses, type Harness } from '../support/courier-harness.js';
import { cluster, indexPrefix, openSearchTier } from '../support/opensearch-tier.js';

const tier = openSearchTier();

describe('courier on OpenSearch: the node that creates a command tells the node its agent is connected to', { skip: tier.skip }, () => {
  let url: string;
  let names: IndexNames;
  let a: Harness;
  let b: Harness;
  let caOfB: string;

  before(async () => {
    url = await tier.url();
    const prefix = indexPrefix('feed');
    names = indexNames(prefix);
    const shared = { opensearch: url, opensearchIndexPrefix: prefix, pollInterval: '10m', rescanInterval: '10m', insecureHttp: 'false' };
    [a, b] = (await startHarnesses({ ...shared, node: 'node-ca' }, { ...shared, node: 'node-cb' })) as [Harness, Harness];
    caOfB = readFileSync(join(b.dataDir, 'tls', 'ca.pem'), 'utf8');
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  /** A call to node B over TLS (its own CA). */
  const onB = (base: string, method: string, path: string, options: { bearer?: string; body?: unknown } = {}): Promise<JsonResponse> =>
    requestJson({
      baseUrl: base,
      method,
      path,
      tls: { ca: caOfB, rejectUnauthorized: true },
      ...(options.bearer ? { headers: { authorization: `Bearer ${options.bearer}` } } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
    });

  /** Connects agent `id` (registered now, unless its key is given) to node B by WebSocket. */
  async function connectToB(id: string, key?: string): Promise<AgentSocket> {
    key ??= await a.addAgent(id);
    const auth = await onB(b.url, 'POST', '/api/v1/authentication', { body: { uuid: id, key } });
    assert.equal(auth.status, 200, JSON.stringify(auth.body));
    const socket = await new AgentSocket(b.url, (auth.body as { token: string }).token, { ca: caOfB }).open();
    // The connection is recorded in the cluster, naming node B: what node A reads to find it.
    await eventually(async () => {
      const record = await cluster(url, 'GET', `/${names.connections}/_doc/agent:${id}`);
      return record.body?._source?.node === 'node-cb' || undefined;
    }, `the connection of ${id} recorded as node B's`);
    return socket;
  }

  const cardOf = async (node: string) =>
    (await cluster(url, 'GET', `/${names.nodes}/_doc/${node}`)).body?._source as { url: string; secret: string; ca_fingerprint?: string } | undefined;

  test('each node has a card in the cluster: the address of its management API and the fingerprint of its CA', async () => {
    const card = await cardOf('node-cb');
    assert.ok(card, 'node B has a card');
    assert.equal(card.url, b.courier.managementUrl);
    assert.equal(card.ca_fingerprint, b.courier.tls?.caFingerprint);
    assert.ok((await cardOf('node-ca'))?.secret, 'node A has a card too');
    assert.notEqual((await cardOf('node-ca'))!.secret, card.secret);
  });

  test('commands created on node A reach an agent connected to node B at once, not at its next poll', async () => {
    const socket = await connectToB('feed-1');
    try {
      const created = await a.send(Array.from({ length: 5 }, () => command({ type: 'agent', id: 'feed-1' })));
      const ids = created.map((c) => c.document_id);
      assert.deepEqual([...(await socket.receiveAndAck(ids.length))].sort(), [...ids].sort());
      assert.equal(b.courier.supervisor.isLive(ids[0]!), true, 'node B holds them');
      // Node A's agent list says where the agent is connected (it is not connected to A).
      const listed = await a.admin('GET', '/api/v1/agents?limit=100');
      const agent = (listed.body as { items: { id: string; connection: string; node: string | null }[] }).items.find((i) => i.id === 'feed-1');
      assert.deepEqual({ connection: agent?.connection, node: agent?.node }, { connection: 'websocket', node: 'node-cb' });
    } finally {
      await socket.close();
    }
  });

  test("a notice without node B's secret is refused before its body is read, audited, and changes nothing; one for a route B does not serve is answered as such", async () => {
    await a.addAgent('feed-nowhere');
    const [created] = await a.send([command({ type: 'agent', id: 'feed-nowhere' })]);
    const id = created!.document_id;
    const notice = { from: 'node-x', commands: [{ document_id: id, route: 'agent:feed-nowhere' }] };
    const base = b.courier.managementUrl;

    const missing = await onB(base, 'POST', NOTICE_PATH, { body: notice });
    assert.equal(missing.status, 401);
    assert.equal((missing.body as { code: string }).code, 'COURIER_ERR_NOT_A_PEER');
    const wrong = await onB(base, 'POST', NOTICE_PATH, { bearer: 'not-the-secret', body: { from: 'node-x', commands: 'not even a list' } });
    assert.equal(wrong.status, 401, 'the secret is checked before the body');
    // An API key is not a node's secret either.
    const key = await b.createKey('admin');
    assert.equal((await onB(base, 'POST', NOTICE_PATH, { bearer: key, body: notice })).status, 401);
    const audit = await onB(base, 'GET', '/api/v1/audit?kind=refusal&limit=100', { bearer: key });
    assert.ok(
      (audit.body as { items: { detail: string }[] }).items.some((i) => i.detail.includes('COURIER_ERR_NOT_A_PEER')),
      JSON.stringify(audit.body),
    );

    const { secret } = (await cardOf('node-cb'))!;
    const malformed = await onB(base, 'POST', NOTICE_PATH, { bearer: secret, body: { from: 'node-x', commands: [{ document_id: id }] } });
    assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
    assert.deepEqual(Object.keys(malformed.body as object).sort(), ['code', 'message']);
    const empty = await onB(base, 'POST', NOTICE_PATH, { bearer: secret, body: { from: 'node-x', commands: [] } });
    assert.equal(empty.status, 400);

    const answered = await onB(base, 'POST', NOTICE_PATH, { bearer: secret, body: notice });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.deepEqual(answered.body, { served: 0, not_served: ['agent:feed-nowhere'] });
    assert.equal(b.courier.supervisor.isLive(id), false, 'node B did not take a command for a route it does not serve');
  });

  test('a notice makes node B read the commands from the cluster: what the cluster does not hold as pending (an unknown id, a command cancelled since) is not delivered', async () => {
    // Created while its agent is connected nowhere (nobody is told), then cancelled.
    const key = await a.addAgent('feed-2');
    const [stale] = await a.send([command({ type: 'agent', id: 'feed-2' })]);
    assert.equal((await a.admin('POST', `/api/v1/commands/${stale!.document_id}/cancel`)).status, 200);
    const socket = await connectToB('feed-2', key);
    try {
      const { secret } = (await cardOf('node-cb'))!;
      const commands = [
        { document_id: stale!.document_id, route: 'agent:feed-2' },
        { document_id: 'no-such-command', route: 'agent:feed-2' },
      ];
      const res = await onB(b.courier.managementUrl, 'POST', NOTICE_PATH, { bearer: secret, body: { from: 'node-x', commands } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { served: 2, not_served: [] });
      // A command created after them, for the same agent, is delivered; they never are.
      const [fresh] = await a.send([command({ type: 'agent', id: 'feed-2' })]);
      const frame = await socket.next();
      assert.equal(frame.type, 'commands');
      assert.deepEqual(
        frame.commands!.map((c) => c.document_id),
        [fresh!.document_id],
      );
      assert.equal(b.courier.supervisor.isLive('no-such-command'), false);
    } finally {
      await socket.close();
    }
  });

  test("a node that stops removes its card and its agents' connection records", async () => {
    const socket = await connectToB('feed-3');
    await socket.close();
    await b.stop();
    assert.equal((await cluster(url, 'GET', `/${names.nodes}/_doc/node-cb`)).status, 404);
    assert.equal((await cluster(url, 'GET', `/${names.connections}/_doc/agent:feed-3`)).status, 404);
    assert.equal((await cluster(url, 'GET', `/${names.connections}/_doc/agent:feed-1`)).status, 404);
    assert.equal((await cluster(url, 'GET', `/${names.nodes}/_doc/node-ca`)).status, 200, 'node A is still there');
  });
});
