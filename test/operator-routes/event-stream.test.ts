import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * `GET /api/v1/events/stream`: the audit trail as server-sent events, read incrementally with
 * node:http. Live transitions arrive as they happen; filters apply; a client that reconnects with
 * `Last-Event-ID` (or `?last_event_id=`) gets exactly what it missed; a fresh stream starts now.
 */

interface SseEvent {
  id: string | null;
  event: string | null;
  data: string;
}
interface AuditData {
  id: string;
  kind: 'transition' | 'refusal' | 'job';
  document_id: string | null;
  job_id?: string;
  from?: string | null;
  to?: string;
  cause: string;
  actor: string;
}

/** A server-sent-events client: parses `id:`/`event:`/`data:` fields as the bytes arrive. */
class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private buffer = '';
  private ended = false;
  private constructor(
    private readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.feed(chunk));
    res.on('end', () => (this.ended = true));
    res.on('error', () => (this.ended = true));
    res.on('close', () => (this.ended = true));
  }

  /** Opens the stream; resolves once the response head is in (any status). */
  static open(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const url = new URL(path, baseUrl);
    return new Promise((resolve, reject) => {
      const req = request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method: 'GET', headers: { accept: 'text/event-stream', ...headers } }, (res) =>
        resolve(new SseClient(req, res)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  get closed(): boolean {
    return this.ended;
  }

  private feed(chunk: string): void {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { id: null, event: null, data: '' };
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        any = true;
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') data.push(value);
      }
      if (any) {
        event.data = data.join('\n');
        this.events.push(event);
      }
    }
  }

  /** The parsed `data` of every event so far. */
  get audit(): AuditData[] {
    return this.events.map((e) => JSON.parse(e.data) as AuditData);
  }

  get ids(): string[] {
    return this.events.map((e) => e.id!);
  }

  /** The whole body, for a refused (non-stream) answer. */
  async body(): Promise<unknown> {
    await eventually(() => (this.ended ? true : undefined), 'the response to end');
    return JSON.parse(this.buffer);
  }

  close(): void {
    this.res.destroy();
    this.req.destroy();
  }
}

describe('management API: the event stream (SSE)', () => {
  let h: Harness;
  let auditorKey: string;
  let operatorKey: string;
  let adminKey: string;

  before(async () => {
    h = await startHarness({ longPollTimeout: '30s' });
    auditorKey = await h.createKey('auditor', [], 'stream-auditor');
    operatorKey = await h.createKey('operator', [], 'stream-operator');
    adminKey = await h.createKey('admin', [], 'stream-admin');
  });
  after(() => h.stop());

  /** Opens a stream that is closed when the test ends, whatever happens. */
  async function open(t: TestContext, path: string, headers: Record<string, string> = {}, key: string | null = auditorKey): Promise<SseClient> {
    const client = await SseClient.open(h.courier.managementUrl, path, { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers });
    t.after(() => client.close());
    return client;
  }

  /** Waits until the stream is live (its opening comment has arrived). */
  async function opened(client: SseClient): Promise<SseClient> {
    assert.equal(client.status, 200);
    assert.match(String(client.res.headers['content-type']), /^text\/event-stream/);
    await eventually(() => (client.comments.length > 0 ? true : undefined), 'the stream to open');
    return client;
  }

  /** Every audit record after `afterId` matching `query`, from the JSON route. */
  async function auditAfter(afterId: string, query = ''): Promise<AuditData[]> {
    const items: AuditData[] = [];
    let cursor: string | null = afterId;
    for (;;) {
      const res = await h.mgmt('GET', `/api/v1/audit?limit=1000&cursor=${cursor}${query ? `&${query}` : ''}`, { key: adminKey });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const body = res.body as { items: AuditData[]; next: string | null };
      items.push(...body.items);
      if (!body.next) return items;
      cursor = body.next;
    }
  }

  async function latestAuditId(): Promise<string> {
    const all = await auditAfter('0');
    return all.length === 0 ? '0' : all[all.length - 1]!.id;
  }

  const send = async (agent: string, action = 'restart') => {
    const res = await h.mgmt('POST', '/api/v1/commands', { key: operatorKey, body: { commands: [command({ type: 'agent', id: agent }, action, { timeout: 3600 })] } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { commands: { document_id: string }[] }).commands[0]!.document_id;
  };
  const poll = async (token: string) => {
    const res = await h.http('GET', '/api/v1/commands', { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id);
  };
  const report = async (token: string, documentId: string, code = 0) => {
    const res = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: documentId, code, message: 'done' }] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const statusOf = async (id: string) => ((await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status;
  /** Runs a command's whole lifecycle: sent, polled (claimed, delivered), result. */
  async function lifecycle(agent: string, token: string): Promise<string> {
    const id = await send(agent);
    assert.deepEqual(await poll(token), [id]);
    await eventually(async () => ((await statusOf(id)) === 'delivered' ? true : undefined), `${id} delivered`);
    await report(token, id);
    return id;
  }
  const transitionsOf = (client: SseClient, documentId: string) => client.audit.filter((a) => a.document_id === documentId).map((a) => [a.from, a.to, a.cause]);
  const assertIncreasing = (ids: string[]) => {
    for (let i = 1; i < ids.length; i++) assert.ok(BigInt(ids[i]!) > BigInt(ids[i - 1]!), `ids not increasing: ${ids[i - 1]} then ${ids[i]}`);
  };

  test('a live client sees each transition of a command as it happens', async (t) => {
    const token = await h.agentToken('es-live');
    const stream = await opened(await open(t, '/api/v1/events/stream'));
    const id = await send('es-live');
    await eventually(() => (transitionsOf(stream, id).length >= 1 ? true : undefined), 'created');
    assert.deepEqual(transitionsOf(stream, id), [[null, 'pending', 'created']]);

    assert.deepEqual(await poll(token), [id]);
    await eventually(() => (transitionsOf(stream, id).length >= 3 ? true : undefined), 'claimed and delivered');
    assert.deepEqual(transitionsOf(stream, id), [
      [null, 'pending', 'created'],
      ['pending', 'sent', 'claimed'],
      ['sent', 'delivered', 'delivered'],
    ]);

    await report(token, id);
    await eventually(() => (transitionsOf(stream, id).length >= 4 ? true : undefined), 'result');
    assert.deepEqual(transitionsOf(stream, id), [
      [null, 'pending', 'created'],
      ['pending', 'sent', 'claimed'],
      ['sent', 'delivered', 'delivered'],
      ['delivered', 'success', 'result'],
    ]);
    // Each SSE event: id = the audit id, event = the kind, data = the audit record (ISO time).
    for (const e of stream.events) {
      const data = JSON.parse(e.data) as AuditData & { at: string };
      assert.equal(e.id, data.id);
      assert.equal(e.event, data.kind);
      assert.ok(!Number.isNaN(Date.parse(data.at)), data.at);
    }
    assertIncreasing(stream.ids);
    assert.deepEqual(
      stream.audit.map((a) => a.actor),
      ['key:stream-operator', 'agent:es-live', 'agent:es-live', 'agent:es-live'],
    );
  });

  test('a stream opened without Last-Event-ID starts now: no old event is replayed', async (t) => {
    const token = await h.agentToken('es-now');
    const old = await lifecycle('es-now', token);
    const latest = await latestAuditId();
    assert.notEqual(latest, '0');
    const stream = await opened(await open(t, '/api/v1/events/stream'));
    const fresh = await lifecycle('es-now', token);
    await eventually(() => (transitionsOf(stream, fresh).length === 4 ? true : undefined), 'the new command');
    assert.equal(transitionsOf(stream, old).length, 0);
    for (const id of stream.ids) assert.ok(BigInt(id) > BigInt(latest), `old event ${id} replayed (latest was ${latest})`);
    assert.deepEqual(
      stream.ids,
      (await auditAfter(latest)).map((a) => a.id),
    );
  });

  test('filters: ?agent= and ?status= show exactly the matching records', async (t) => {
    const tokenA = await h.agentToken('es-fa');
    const tokenB = await h.agentToken('es-fb');
    const start = await latestAuditId();
    const byAgent = await opened(await open(t, '/api/v1/events/stream?agent=es-fa'));
    const delivered = await opened(await open(t, '/api/v1/events/stream?status=delivered'));
    const failures = await opened(await open(t, '/api/v1/events/stream?status=failure&agent=es-fb'));
    const a1 = await lifecycle('es-fa', tokenA);
    const b1 = await lifecycle('es-fb', tokenB);
    const b2 = await send('es-fb');
    assert.deepEqual(await poll(tokenB), [b2]);
    await eventually(async () => ((await statusOf(b2)) === 'delivered' ? true : undefined), 'b2 delivered');
    await report(tokenB, b2, 3);

    const expectAgent = await auditAfter(start, 'agent=es-fa');
    const expectDelivered = await auditAfter(start, 'status=delivered');
    const expectFailures = await auditAfter(start, 'status=failure&agent=es-fb');
    assert.equal(expectAgent.length, 4);
    assert.deepEqual(
      expectDelivered.map((a) => a.document_id),
      [a1, b1, b2],
    );
    assert.equal(expectFailures.length, 1);
    await eventually(() => (byAgent.events.length >= expectAgent.length ? true : undefined), '?agent= events');
    await eventually(() => (delivered.events.length >= expectDelivered.length ? true : undefined), '?status= events');
    await eventually(() => (failures.events.length >= expectFailures.length ? true : undefined), 'combined filter events');
    // One more event that matches none of the filters; once it is through, nothing else came.
    const unfiltered = await opened(await open(t, '/api/v1/events/stream?agent=es-fb'));
    const b3 = await send('es-fb');
    await eventually(() => (transitionsOf(unfiltered, b3).length === 1 ? true : undefined), 'the sentinel');
    assert.deepEqual(
      byAgent.ids,
      expectAgent.map((a) => a.id),
    );
    assert.ok(byAgent.audit.every((a) => a.document_id === a1));
    assert.deepEqual(
      delivered.ids,
      expectDelivered.map((a) => a.id),
    );
    assert.ok(delivered.audit.every((a) => a.to === 'delivered'));
    assert.deepEqual(
      failures.ids,
      expectFailures.map((a) => a.id),
    );
    assert.equal(failures.audit[0]!.document_id, b2);
    assert.equal(failures.audit[0]!.to, 'failure');
    assert.equal((await h.mgmt('POST', `/api/v1/commands/${b3}/cancel`, { key: operatorKey })).status, 200);
  });

  test('disconnect, miss events, reconnect with Last-Event-ID: exactly the missed events, none repeated, none missing', async (t) => {
    const token = await h.agentToken('es-resume');
    const first = await opened(await open(t, '/api/v1/events/stream'));
    const seen = await lifecycle('es-resume', token);
    await eventually(() => (transitionsOf(first, seen).length === 4 ? true : undefined), 'the first lifecycle');
    const lastSeen = first.ids[first.ids.length - 1]!;
    first.close();
    await eventually(() => (first.closed ? true : undefined), 'the client to close');

    // While away: two more lifecycles, a cancelled command, a pending one.
    const missed1 = await lifecycle('es-resume', token);
    const missed2 = await lifecycle('es-resume', token);
    const cancelled = await send('es-resume');
    assert.equal((await h.mgmt('POST', `/api/v1/commands/${cancelled}/cancel`, { key: operatorKey })).status, 200);
    const pending = await send('es-resume', 'fetch-config');
    const missed = await auditAfter(lastSeen);
    assert.deepEqual([...new Set(missed.map((a) => a.document_id))], [missed1, missed2, cancelled, pending], 'the audit trail of the missed range');
    assert.equal(missed.length, 4 + 4 + 2 + 1);

    const resumed = await opened(await open(t, '/api/v1/events/stream', { 'last-event-id': lastSeen }));
    await eventually(() => (resumed.events.length >= missed.length ? true : undefined), 'the missed events');
    // Live again: the next transition follows the missed ones.
    const live = await send('es-resume', 'update');
    await eventually(() => (transitionsOf(resumed, live).length === 1 ? true : undefined), 'the next live event');
    const expected = [...missed, ...(await auditAfter(missed[missed.length - 1]!.id))];
    assert.deepEqual(
      resumed.ids,
      expected.map((a) => a.id),
    );
    assert.deepEqual(resumed.audit, expected);
    assert.ok(
      resumed.ids.every((id) => BigInt(id) > BigInt(lastSeen)),
      'an event seen before was repeated',
    );
    assertIncreasing(resumed.ids);

    // ?last_event_id= resumes the same way.
    const byQuery = await opened(await open(t, `/api/v1/events/stream?last_event_id=${lastSeen}`));
    await eventually(() => (byQuery.events.length >= expected.length ? true : undefined), 'the missed events by query');
    assert.deepEqual(
      byQuery.ids,
      expected.map((a) => a.id),
    );
    // A filtered resume gets the missed records that match, only.
    const filtered = await opened(await open(t, `/api/v1/events/stream?status=success&last_event_id=${lastSeen}`));
    await eventually(() => (filtered.events.length >= 2 ? true : undefined), 'the missed successes');
    assert.deepEqual(
      filtered.audit.map((a) => a.document_id),
      [missed1, missed2],
    );
    for (const id of [pending, live]) assert.equal((await h.mgmt('POST', `/api/v1/commands/${id}/cancel`, { key: operatorKey })).status, 200);
  });

  test('Last-Event-ID at the newest record: nothing is replayed, and the stream goes on live', async (t) => {
    const latest = await latestAuditId();
    const stream = await opened(await open(t, '/api/v1/events/stream', { 'last-event-id': latest }));
    const id = await send('es-resume');
    await eventually(() => (stream.events.length >= 1 ? true : undefined), 'the live event');
    assert.deepEqual(
      stream.audit.map((a) => a.document_id),
      [id],
    );
    assert.equal((await h.mgmt('POST', `/api/v1/commands/${id}/cancel`, { key: operatorKey })).status, 200);
  });

  test('a resume id past 999999 is accepted by ?last_event_id= as it is by Last-Event-ID', async (t) => {
    const byHeader = await open(t, '/api/v1/events/stream', { 'last-event-id': '1000000' });
    assert.equal(byHeader.status, 200);
    const byQuery = await open(t, '/api/v1/events/stream?last_event_id=1000000');
    assert.equal(byQuery.status, 200, byQuery.status === 200 ? '' : JSON.stringify(await byQuery.body()));
  });

  test('a scoped key streams only records of commands inside its scope', async (t) => {
    const scoped = await h.createKey('auditor', ['agent:es-in'], 'stream-scoped');
    const tokenIn = await h.agentToken('es-in');
    const tokenOut = await h.agentToken('es-out');
    const start = await latestAuditId();
    const stream = await opened(await open(t, '/api/v1/events/stream', {}, scoped));
    const out = await lifecycle('es-out', tokenOut);
    const inside = await lifecycle('es-in', tokenIn);
    await eventually(() => (transitionsOf(stream, inside).length === 4 ? true : undefined), 'the in-scope lifecycle');
    assert.equal(transitionsOf(stream, out).length, 0);
    assert.ok(
      stream.audit.every((a) => a.document_id === inside),
      JSON.stringify(stream.audit),
    );
    assert.deepEqual(
      stream.ids,
      (await auditAfter(start, 'agent=es-in')).map((a) => a.id),
    );
  });

  test("a job's transitions come on the stream as they are stored (kind job), filtered by ?kind=job", async (t) => {
    await h.addAgent('es-job', ['es-jobs']);
    const stream = await opened(await open(t, '/api/v1/events/stream?kind=job'));
    const created = await h.admin('POST', '/api/v1/jobs', { name: 'streamed', targets: { groups: ['es-jobs'] }, steps: [{ action: { name: 'restart', args: {} }, timeout: 60 }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { job_id: string }).job_id;
    assert.equal((await h.admin('POST', `/api/v1/jobs/${id}/pause`)).status, 200);
    const jobEvents = () => stream.audit.filter((a) => a.job_id === id).map((a) => `${a.from ?? '-'}>${a.to}:${a.cause}`);
    // Well within the stream's keepalive (which would also show them): each is woken for as it is stored.
    await eventually(() => (jobEvents().length === 3 ? true : undefined), 'the job transitions on the stream', 5000);
    assert.deepEqual(jobEvents(), ['->scheduled:created', 'scheduled>rolling_out:started', 'rolling_out>paused:paused']);
    assert.ok(stream.audit.every((a) => a.kind === 'job'));
    assert.equal((await h.admin('POST', `/api/v1/jobs/${id}/cancel`)).status, 200);
  });

  test('roles: an auditor or operator may open it; no key or a bad key is 401, audited (once per reason)', async (t) => {
    await opened(await open(t, '/api/v1/events/stream', {}, auditorKey));
    await opened(await open(t, '/api/v1/events/stream', {}, operatorKey));
    const before = await auditAfter('0', 'kind=refusal&actor=anonymous');
    for (const key of [null, 'garbage', 'courier_0000000000000000_not-a-real-secret-not-a-real-secret-000000']) {
      const refused = await open(t, '/api/v1/events/stream', {}, key);
      assert.equal(refused.status, 401);
      assert.match(String(refused.res.headers['content-type']), /^application\/json/);
      const body = (await refused.body()) as { code: string; message: string };
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
      assert.match(body.code, /^COURIER_ERR_(MISSING|INVALID)_API_KEY$/);
    }
    const after = await auditAfter('0', 'kind=refusal&actor=anonymous');
    const added = after.filter((a) => !before.some((b) => b.id === a.id)) as (AuditData & { detail: string })[];
    // The two bad keys are one reason from one address on one route: the second is counted, not recorded.
    assert.equal(added.length, 2, JSON.stringify(added));
    assert.ok(
      added.every((a) => a.detail.startsWith('GET /api/v1/events/stream')),
      JSON.stringify(added),
    );
  });
});
