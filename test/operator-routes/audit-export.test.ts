import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * `GET /api/v1/audit` over a trail of more than 10,000 records: 2,500 commands, each created,
 * claimed, delivered and answered (4 records each) by 25 agents polling 100 at a time, plus a
 * few refusals. With `Accept: application/x-ndjson` the whole trail is streamed (chunked, no
 * content-length, several chunks), one valid JSON line per record, ids strictly increasing, the
 * filters applied. The JSON form pages through the same records with `limit`/`cursor`, without
 * gaps or repeats.
 */

const AGENTS = 25;
const PER_AGENT = 100;
const COMMANDS = AGENTS * PER_AGENT;
const BATCH = 500;
const REFUSALS = 5;
/** The auditor key made for the test: its creation is audited too. */
const KEYS = 1;
const TRANSITIONS = COMMANDS * 4;

interface AuditItem {
  id: string;
  kind: 'transition' | 'refusal' | 'key';
  document_id: string | null;
  from?: string | null;
  to?: string;
  cause: string;
  at: string;
  node: string;
  actor: string;
}

interface Export {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: number;
  text: string;
}

const agentId = (i: number) => `exp-${String(i).padStart(2, '0')}`;

describe('management API: audit export', () => {
  let h: Harness;
  let key: string;
  /** document_ids per agent, and the request id of each batch. */
  const docsOf = new Map<string, Set<string>>();
  const requestIds: string[] = [];
  let startedAt = '';

  before(async () => {
    h = await startHarness({ longPollTimeout: '5s' });
    key = await h.createKey('auditor', [], 'export-auditor');
    startedAt = new Date(Date.now() - 1000).toISOString();
    const tokens = await Promise.all(Array.from({ length: AGENTS }, (_, i) => h.agentToken(agentId(i), ['export'])));
    // 2,500 commands in 5 batches of 500 (20 per agent per batch) through the admin socket.
    for (let b = 0; b < COMMANDS / BATCH; b++) {
      const specs = Array.from({ length: BATCH }, (_, i) => command({ type: 'agent', id: agentId(i % AGENTS) }, 'restart', { timeout: 3600 }));
      const created = await h.send(specs);
      for (const c of created) {
        const set = docsOf.get(c.agent.id) ?? new Set<string>();
        set.add(c.document_id);
        docsOf.set(c.agent.id, set);
      }
      requestIds.push(((await h.admin('GET', `/api/v1/commands/${created[0]!.document_id}`)).body as { request_id: string }).request_id);
    }
    // Each agent takes its 100 commands in one poll (100 per delivery) and reports them in one call.
    await Promise.all(
      tokens.map(async (token, i) => {
        const polled = await h.http('GET', '/api/v1/commands', { token });
        assert.equal(polled.status, 200, JSON.stringify(polled.body));
        const ids = (polled.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id);
        assert.equal(ids.length, PER_AGENT, `${agentId(i)} got ${ids.length}`);
        // Results once the deliveries are recorded, so that every command has its four transitions.
        await eventually(
          async () => {
            const res = await h.mgmt('GET', `/api/v1/commands?agent=${agentId(i)}&status=delivered&limit=1000`, { key });
            return (res.body as { items: unknown[] }).items.length === PER_AGENT ? true : undefined;
          },
          `${agentId(i)}: deliveries`,
          30_000,
        );
        const report = await h.http('POST', '/api/v1/commands/results', {
          token,
          body: { results: ids.map((document_id) => ({ document_id, code: 0, message: 'ok' })) },
        });
        assert.equal(report.status, 200, JSON.stringify(report.body));
      }),
    );
    await eventually(async () => {
      const res = await h.mgmt('GET', `/api/v1/commands?status=success&limit=1000&agent=${agentId(AGENTS - 1)}`, { key });
      return (res.body as { items: unknown[] }).items.length === PER_AGENT ? true : undefined;
    }, 'the last results');
    // A few refusals too (no key), each on another route: repeats of one would be audited once a minute.
    const refused = ['/api/v1/commands', '/api/v1/audit', '/api/v1/agents', '/api/v1/requests/r-1', '/api/v1/commands/c-1'];
    assert.equal(refused.length, REFUSALS);
    for (const path of refused) assert.equal((await h.mgmt('GET', path)).status, 401);
  });
  after(() => h.stop());

  /** Reads an export with node:http, counting the chunks as they arrive. */
  function exportAudit(query = '', accept = 'application/x-ndjson'): Promise<Export> {
    const url = new URL(`/api/v1/audit${query}`, h.courier.managementUrl);
    return new Promise((resolve, reject) => {
      const req = request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: { accept, authorization: `Bearer ${key}` } }, (res) => {
        let chunks = 0;
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks++;
          parts.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks, text: Buffer.concat(parts).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Parses NDJSON strictly: every line (including the last) ends with \n and is one JSON object. */
  function lines(text: string): AuditItem[] {
    if (text === '') return [];
    assert.ok(text.endsWith('\n'), 'the export does not end with a newline');
    return text
      .slice(0, -1)
      .split('\n')
      .map((line, i) => {
        assert.ok(line.length > 0, `line ${i + 1} is empty`);
        let parsed: unknown;
        assert.doesNotThrow(() => (parsed = JSON.parse(line)), `line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
        assert.equal(typeof parsed, 'object');
        return parsed as AuditItem;
      });
  }

  const assertIncreasing = (items: AuditItem[]) => {
    for (let i = 1; i < items.length; i++) {
      assert.ok(BigInt(items[i]!.id) > BigInt(items[i - 1]!.id), `ids not strictly increasing at line ${i + 1}: ${items[i - 1]!.id} then ${items[i]!.id}`);
    }
  };

  /** Every record through the JSON route, page by page. */
  async function pages(limit: number, query = ''): Promise<{ items: AuditItem[]; pages: number }> {
    const items: AuditItem[] = [];
    let cursor: string | null = null;
    let count = 0;
    for (;;) {
      const res = await h.mgmt('GET', `/api/v1/audit?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const body = res.body as { items: AuditItem[]; next: string | null };
      assert.ok(body.items.length <= limit);
      count++;
      items.push(...body.items);
      if (!body.next) return { items, pages: count };
      cursor = body.next;
      assert.ok(count < 100_000);
    }
  }

  test('NDJSON: the whole trail, streamed in chunks, one JSON object per line, ids strictly increasing', async () => {
    const res = await exportAudit();
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    assert.equal(res.headers['content-length'], undefined, 'an export must be streamed, not buffered with a length');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.ok(res.chunks > 1, `arrived in ${res.chunks} chunk(s)`);
    const items = lines(res.text);
    assert.equal(items.length, TRANSITIONS + REFUSALS + KEYS);
    assert.ok(items.length >= 10_000);
    assertIncreasing(items);
    assert.equal(items.filter((i) => i.kind === 'transition').length, TRANSITIONS);
    assert.equal(items.filter((i) => i.kind === 'refusal').length, REFUSALS);
    assert.equal(items.filter((i) => i.kind === 'key').length, KEYS);
    // Every command has its four transitions, in order.
    const causes = new Map<string, string[]>();
    for (const i of items) if (i.kind === 'transition') causes.set(i.document_id!, [...(causes.get(i.document_id!) ?? []), i.cause]);
    assert.equal(causes.size, COMMANDS);
    for (const [id, list] of causes) assert.deepEqual(list, ['created', 'claimed', 'delivered', 'result'], id);
    for (const i of items) assert.ok(!Number.isNaN(Date.parse(i.at)), `bad time ${i.at}`);
  });

  test('NDJSON and the JSON pages hold the same records', async () => {
    const exported = lines((await exportAudit()).text);
    const paged = await pages(1000);
    assert.equal(paged.pages >= Math.ceil(exported.length / 1000), true);
    assert.deepEqual(exported, paged.items);
  });

  test('filters apply to the export', async () => {
    const success = lines((await exportAudit('?status=success')).text);
    assert.equal(success.length, COMMANDS);
    assert.ok(success.every((i) => i.to === 'success' && i.cause === 'result'));
    assertIncreasing(success);

    const one = agentId(3);
    const byAgent = lines((await exportAudit(`?agent=${one}`)).text);
    assert.equal(byAgent.length, PER_AGENT * 4);
    assert.ok(
      byAgent.every((i) => docsOf.get(one)!.has(i.document_id!)),
      'a record of another agent',
    );

    const byActor = lines((await exportAudit(`?actor=agent:${one}`)).text);
    assert.equal(byActor.length, PER_AGENT * 3);
    assert.deepEqual([...new Set(byActor.map((i) => i.cause))].sort(), ['claimed', 'delivered', 'result']);

    const byRequest = lines((await exportAudit(`?request_id=${requestIds[1]}`)).text);
    assert.equal(byRequest.length, BATCH * 4);

    const refusals = lines((await exportAudit('?kind=refusal')).text);
    assert.equal(refusals.length, REFUSALS);
    assert.ok(refusals.every((i) => i.kind === 'refusal' && i.actor === 'anonymous'));

    const combined = lines((await exportAudit(`?agent=${one}&status=delivered`)).text);
    assert.equal(combined.length, PER_AGENT);

    const inTime = lines((await exportAudit(`?from=${encodeURIComponent(startedAt)}`)).text);
    assert.equal(inTime.length, TRANSITIONS + REFUSALS + KEYS);
    const future = await exportAudit(`?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    assert.equal(future.status, 200);
    assert.match(String(future.headers['content-type']), /^application\/x-ndjson/);
    assert.deepEqual(lines(future.text), []);
    const past = lines((await exportAudit(`?to=${encodeURIComponent(startedAt)}`)).text);
    assert.deepEqual(past, []);

    // The same filter through the JSON pages gives the same records.
    assert.deepEqual((await pages(97, `&agent=${one}`)).items, byAgent);
  });

  test('a bad filter on an export is refused like any other (400), before anything is streamed', async () => {
    const res = await exportAudit('?status=bogus');
    assert.equal(res.status, 400);
    const body = JSON.parse(res.text) as { message: string; code: string };
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
    assert.equal(body.code, 'COURIER_ERR_VALIDATION');
  });

  test('JSON pages: limit and cursor walk the trail without gaps or repeats, for any page size', async () => {
    const all = lines((await exportAudit()).text).map((i) => i.id);
    for (const limit of [1000, 997, 250]) {
      const { items, pages: count } = await pages(limit);
      const ids = items.map((i) => i.id);
      assert.equal(new Set(ids).size, ids.length, `limit ${limit}: repeats`);
      assert.deepEqual(ids, all, `limit ${limit}`);
      assert.ok(count >= Math.ceil(all.length / limit), `limit ${limit}: ${count} pages`);
    }
    // A filtered walk, too.
    const filtered = await pages(333, '&status=delivered');
    assert.equal(filtered.items.length, COMMANDS);
    assert.equal(new Set(filtered.items.map((i) => i.id)).size, COMMANDS);
    assertIncreasing(filtered.items);
  });

  test('without a limit the JSON form returns one page of 100 and a cursor', async () => {
    const res = await h.mgmt('GET', '/api/v1/audit', { key });
    assert.equal(res.status, 200);
    const body = res.body as { items: AuditItem[]; next: string | null };
    assert.equal(body.items.length, 100);
    assert.equal(typeof body.next, 'string');
    assertIncreasing(body.items);
  });
});
