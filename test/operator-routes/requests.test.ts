import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * `GET /api/v1/requests/:request_id` on a 500-agent fan-out: 400 real agents connected (half by
 * long-poll, half by WebSocket; 50 of them report a failure), 100 never connect. One group command
 * through the management API; once the connected agents have reported, the summary must count
 * each status exactly and list exactly the 150 agents that did not succeed, page by page.
 */

const TOTAL = 500;
const CONNECTED = 400;
/** Agents 0..49 report code 1 (25 by long-poll, 25 by WebSocket). */
const FAILING = 50;
const SUCCEEDING = CONNECTED - FAILING;
const OFFLINE = TOTAL - CONNECTED;

const agentId = (i: number) => `fleet-${String(i).padStart(3, '0')}`;
const transportOf = (i: number): 'long-poll' | 'websocket' => (i % 2 === 0 ? 'long-poll' : 'websocket');

interface Summary {
  request_id: string;
  total: number;
  counts: Record<string, number>;
  not_succeeded: {
    items: { document_id: string; agent_id: string | null; status: string; result: { code: number; message: string } | null }[];
    next: string | null;
  };
}

async function inChunks<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

describe('management API: a 500-agent fan-out and its request summary', () => {
  let h: Harness;
  let operatorKey: string;
  const agents: ReferenceAgent[] = [];
  const received = new Map<string, string[]>();
  const problems: string[] = [];
  /** The 500 commands of the request, in creation order. */
  let created: { document_id: string; agent: { id: string } }[] = [];
  let requestId = '';

  before(async () => {
    h = await startHarness({ longPollTimeout: '30s' });
    operatorKey = await h.createKey('operator', [], 'fanout-operator');
    const keys: string[] = new Array(TOTAL);
    await inChunks(
      Array.from({ length: TOTAL }, (_, i) => i),
      50,
      async (i) => (keys[i] = await h.addAgent(agentId(i), ['fleet'])),
    );
    for (let i = 0; i < CONNECTED; i++) {
      const id = agentId(i);
      const agent = new ReferenceAgent({
        url: h.url,
        id,
        key: keys[i]!,
        transport: transportOf(i),
        resultCode: i < FAILING ? 1 : 0,
        onCommand: (c) => received.set(id, [...(received.get(id) ?? []), c.document_id]),
        onProblem: (message) => problems.push(`${id}: ${message}`),
      });
      agents.push(agent);
      agent.start();
    }
    // Every connected agent holds a subscription before the command is sent.
    await eventually(
      () => {
        const s = h.courier.supervisor.stats();
        return s.longPollSubscriptions === CONNECTED / 2 && s.webSocketSubscriptions === CONNECTED / 2 ? true : undefined;
      },
      `${CONNECTED} agents to connect`,
      60_000,
    );
    const res = await h.mgmt('POST', '/api/v1/commands', {
      key: operatorKey,
      body: { commands: [command({ type: 'group', id: 'fleet' }, 'restart', { timeout: 3600 })] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    created = (res.body as { commands: { document_id: string; agent: { id: string }; request_id: string }[] }).commands;
    assert.equal(created.length, TOTAL);
    requestId = (res.body as { commands: { request_id: string }[] }).commands[0]!.request_id;
  });

  after(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await h?.stop();
  });

  const summary = async (query = ''): Promise<Summary> => {
    const res = await h.mgmt('GET', `/api/v1/requests/${requestId}${query}`, { key: operatorKey });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Summary;
  };

  /** Follows `next` to the end; every page within the limit. */
  async function allNotSucceeded(limit: number, key = operatorKey): Promise<Summary['not_succeeded']['items']> {
    const items: Summary['not_succeeded']['items'] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages <= TOTAL + 1; pages++) {
      const res = await h.mgmt('GET', `/api/v1/requests/${requestId}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const page = (res.body as Summary).not_succeeded;
      assert.ok(page.items.length <= limit, `a page of ${page.items.length} with limit ${limit}`);
      items.push(...page.items);
      if (!page.next) return items;
      cursor = page.next;
    }
    throw new Error('pagination does not end');
  }

  const expectedStatus = (i: number) => (i < FAILING ? 'failure' : i < CONNECTED ? 'success' : 'pending');
  /** The non-success commands, oldest first (creation order). */
  const expectedNotSucceeded = () =>
    created
      .map((c) => ({ document_id: c.document_id, agent_id: c.agent.id, status: expectedStatus(Number(c.agent.id.slice('fleet-'.length))) }))
      .filter((c) => c.status !== 'success');

  test('once the connected agents have reported: total 500 and exact counts per status', async () => {
    const done = await eventually(
      async () => {
        const s = await summary();
        return s.counts.success === SUCCEEDING && s.counts.failure === FAILING ? s : undefined;
      },
      `${SUCCEEDING} successes and ${FAILING} failures (problems: ${problems.slice(0, 3).join('; ')})`,
      90_000,
    );
    assert.equal(done.request_id, requestId);
    assert.equal(done.total, TOTAL);
    assert.deepEqual(done.counts, {
      pending: OFFLINE,
      sent: 0,
      delivered: 0,
      success: SUCCEEDING,
      failure: FAILING,
      timed_out: 0,
      cancelled: 0,
    });
    // Each connected agent ran the command exactly once; the offline ones never saw it.
    for (let i = 0; i < TOTAL; i++) {
      const got = received.get(agentId(i)) ?? [];
      assert.equal(got.length, i < CONNECTED ? 1 : 0, `${agentId(i)} received ${got.length}`);
      if (got.length === 1) assert.equal(got[0], created.find((c) => c.agent.id === agentId(i))!.document_id);
    }
  });

  test('not_succeeded lists exactly the 150 non-success agents, with their status and result, oldest first', async () => {
    const items = await allNotSucceeded(1000);
    const expected = expectedNotSucceeded();
    assert.equal(expected.length, FAILING + OFFLINE);
    assert.deepEqual(
      items.map((i) => ({ document_id: i.document_id, agent_id: i.agent_id, status: i.status })),
      expected,
    );
    for (const item of items) {
      if (item.status === 'failure') {
        assert.equal(item.result?.code, 1, JSON.stringify(item));
        assert.equal(typeof item.result?.message, 'string');
      } else {
        assert.equal(item.result, null, JSON.stringify(item));
      }
    }
  });

  test('paginated with limit and cursor, the pages cover every non-success command once, in order', async () => {
    const expected = expectedNotSucceeded().map((e) => e.document_id);
    for (const limit of [1, 7, 50, 149, 150, 151]) {
      const items = await allNotSucceeded(limit);
      const ids = items.map((i) => i.document_id);
      assert.equal(new Set(ids).size, ids.length, `limit ${limit}: an item is repeated`);
      assert.deepEqual(ids, expected, `limit ${limit}`);
    }
    // The counts do not depend on the page asked for.
    const first = await summary('?limit=7');
    const later = await summary(`?limit=7&cursor=${encodeURIComponent(first.not_succeeded.next!)}`);
    assert.deepEqual(later.counts, first.counts);
    assert.equal(later.total, TOTAL);
  });

  test('a scoped key sees the same request through its scope only', async () => {
    // fleet-000..fleet-009: all ten are among the failing agents.
    const key = await h.createKey('auditor', ['agent:fleet-00*'], 'fleet-00-auditor');
    const res = await h.mgmt('GET', `/api/v1/requests/${requestId}`, { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const s = res.body as Summary;
    assert.equal(s.total, 10);
    assert.equal(s.counts.failure, 10);
    assert.equal(s.counts.success, 0);
    assert.equal(s.counts.pending, 0);
    const items = await allNotSucceeded(3, key);
    assert.deepEqual(
      items.map((i) => i.agent_id),
      Array.from({ length: 10 }, (_, i) => agentId(i)),
    );
  });
});
