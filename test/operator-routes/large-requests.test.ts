import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestJson } from '../../src/http-client.js';
import { command, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { seedAgents } from '../support/seed-agents.js';

interface Created {
  commands: { document_id: string; agent_id?: string | null; agent?: { id: string | null }; request_id: string; status: string; action?: unknown }[];
  total: number;
  abridged: boolean;
}

const MEMBERS = 2500;
const MAX = 2501;

/**
 * One request is bounded: it creates at most --max-commands-per-request commands (refused whole
 * past it), is written in slices, and is answered with references instead of documents when large.
 */
describe('large create requests', () => {
  let h: Harness;
  before(async () => {
    const dir = tempDir();
    await seedAgents(
      dir,
      Array.from({ length: MEMBERS }, (_, i) => `m-${String(i).padStart(4, '0')}`),
      ['big'],
    );
    await seedAgents(dir, ['solo-1', 'solo-2'], ['small']);
    h = await startHarness({ maxCommandsPerRequest: String(MAX) }, dir);
  });
  after(() => h.stop());

  const count = async () => Number(/courier_commands\{status="pending"\} (\d+)/.exec(String((await h.admin('GET', '/metrics')).body))?.[1] ?? NaN);

  test('past --max-commands-per-request the request is refused 400 and nothing is stored', async () => {
    const before = await count();
    const res = await h.admin('POST', '/api/v1/commands', {
      commands: [command({ type: 'group', id: 'big' }), command({ type: 'agent', id: 'solo-1' }), command({ type: 'agent', id: 'solo-2' })],
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      code: 'COURIER_ERR_TOO_MANY_COMMANDS',
      message: `This request would create more than ${MAX} commands (--max-commands-per-request); split it, or roll a larger fan-out out as a job`,
    });
    assert.equal(await count(), before);
  });

  test('a fan-out over a thousand members is created whole, each member once, and answered with references', async () => {
    const res = await requestJson({
      socketPath: h.courier.socket,
      method: 'POST',
      path: '/api/v1/commands',
      body: { commands: [command({ type: 'group', id: 'big' })] },
      withHeaders: true,
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers?.['content-type'], 'application/json; charset=utf-8');
    const body = res.body as Created;
    assert.equal(body.abridged, true);
    assert.equal(body.total, MEMBERS);
    assert.equal(body.commands.length, MEMBERS);
    assert.deepEqual(Object.keys(body.commands[0]!).sort(), ['agent_id', 'document_id', 'request_id', 'status']);
    assert.deepEqual(
      body.commands.map((c) => c.agent_id),
      Array.from({ length: MEMBERS }, (_, i) => `m-${String(i).padStart(4, '0')}`),
    );
    assert.equal(new Set(body.commands.map((c) => c.document_id)).size, MEMBERS);
    const summary = await h.admin('GET', `/api/v1/requests/${body.commands[0]!.request_id}`);
    assert.equal((summary.body as { total: number }).total, MEMBERS);
  });

  test('a small request is answered with whole documents', async () => {
    const res = await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'group', id: 'small' })] });
    assert.equal(res.status, 201);
    const body = res.body as Created;
    assert.equal(body.abridged, false);
    assert.equal(body.total, 2);
    assert.ok(body.commands.every((c) => c.action !== undefined && c.agent !== undefined));
  });
});

/**
 * A producer that retries (after a timeout, a 503, a lost connection) with the same Idempotency-Key
 * gets the commands of its first attempt and creates none twice; a request_id belongs to the key
 * that made it.
 */
describe('Idempotency-Key and request ownership', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    for (const id of ['idem-1', 'idem-2']) await h.addAgent(id, ['idem']);
  });
  after(() => h.stop());

  const requestWithHeaders = (body: unknown, headers: Record<string, string>) =>
    requestJson({ socketPath: h.courier.socket, method: 'POST', path: '/api/v1/commands', headers, body });

  test("a retry is answered with the first attempt's commands, as they stand, and creates nothing", async () => {
    const body = { commands: [command({ type: 'group', id: 'idem' }), command({ type: 'agent', id: 'idem-1' }, 'fetch-config')] };
    const first = await requestWithHeaders(body, { 'idempotency-key': 'retry-me-1' });
    assert.equal(first.status, 201);
    const ids = (first.body as Created).commands.map((c) => c.document_id);
    assert.equal(ids.length, 3);
    // The first command moves on before the retry.
    await h.admin('POST', `/api/v1/commands/${ids[0]}/cancel`);
    const listed = async () => ((await h.admin('GET', `/api/v1/requests/${(first.body as Created).commands[0]!.request_id}`)).body as { total: number }).total;

    const retry = await requestWithHeaders(body, { 'idempotency-key': 'retry-me-1' });
    assert.equal(retry.status, 201);
    const again = retry.body as Created;
    assert.deepEqual(
      again.commands.map((c) => c.document_id),
      ids,
    );
    assert.deepEqual(
      again.commands.map((c) => c.status),
      ['cancelled', 'pending', 'pending'],
    );
    assert.equal(await listed(), 3, 'the retry created commands');
  });

  test('the same key for a different request is refused 422 and stores nothing', async () => {
    const first = await requestWithHeaders({ commands: [command({ type: 'agent', id: 'idem-2' })] }, { 'idempotency-key': 'retry-me-2' });
    assert.equal(first.status, 201);
    const other = await requestWithHeaders({ commands: [command({ type: 'agent', id: 'idem-2' }, 'upgrade')] }, { 'idempotency-key': 'retry-me-2' });
    assert.equal(other.status, 422);
    assert.equal((other.body as { code: string }).code, 'COURIER_ERR_IDEMPOTENCY_KEY_REUSED');
    const requestId = (first.body as Created).commands[0]!.request_id;
    assert.equal(((await h.admin('GET', `/api/v1/requests/${requestId}`)).body as { total: number }).total, 1);
  });

  test('a malformed key is refused 400', async () => {
    const res = await requestWithHeaders({ commands: [command({ type: 'agent', id: 'idem-2' })] }, { 'idempotency-key': 'has a space' });
    assert.equal(res.status, 400);
    assert.match((res.body as { message: string }).message, /idempotency-key/);
  });

  test('keys are per producer: two API keys using the same Idempotency-Key make two requests', async () => {
    const [a, b] = [await h.createKey('operator', [], 'alice'), await h.createKey('operator', [], 'bob')];
    const send = (key: string) =>
      h.mgmt('POST', '/api/v1/commands', { key, headers: { 'idempotency-key': 'shared-key' }, body: { commands: [command({ type: 'agent', id: 'idem-1' })] } });
    const [fromA, fromB, fromAAgain] = [await send(a), await send(b), await send(a)];
    const id = (res: { body: unknown }) => (res.body as Created).commands[0]!.document_id;
    assert.equal(fromA.status, 201);
    assert.equal(fromB.status, 201);
    assert.notEqual(id(fromA), id(fromB));
    assert.equal(id(fromAAgain), id(fromA));
  });

  test('a request_id belongs to the key that made it: another key cannot add to it (403, audited); the socket can', async () => {
    const [a, b] = [await h.createKey('operator', [], 'carol'), await h.createKey('operator', [], 'dave')];
    const withRequest = (key: string) =>
      h.mgmt('POST', '/api/v1/commands', { key, body: { commands: [command({ type: 'agent', id: 'idem-1' }, 'restart', { request_id: 'carols-rollout' })] } });
    assert.equal((await withRequest(a)).status, 201);
    const refused = await withRequest(b);
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, { code: 'COURIER_ERR_REQUEST_NOT_OWNED', message: 'Request [carols-rollout] was created by another producer: choose a new request_id' });
    assert.equal((await withRequest(a)).status, 201, 'its owner adds to it');
    // The admin socket is trusted (a poller pushing a plugin's request in several posts, say).
    assert.equal((await h.admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'idem-2' }, 'restart', { request_id: 'carols-rollout' })] })).status, 201);
    const audit = await h.admin('GET', '/api/v1/audit?kind=refusal&actor=key:dave');
    assert.match(JSON.stringify(audit.body), /COURIER_ERR_REQUEST_NOT_OWNED/);
    const summary = await h.admin('GET', '/api/v1/requests/carols-rollout');
    assert.equal((summary.body as { total: number }).total, 3);
  });
});
