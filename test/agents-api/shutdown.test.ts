import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestJson } from '../../src/http-client.js';
import { agentRoute } from '../../src/domain/command.js';
import { CourierError } from '../../src/errors.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';
import { upgradeOutcome } from '../support/upgrade-outcome.js';

/**
 * Shutting down: what agents report from the moment the supervisor drains is refused with
 * 503 COURIER_ERR_SHUTTING_DOWN (never "ignored"), so that they report it again after the restart
 * or to another node; and the agents API stops taking requests before the drain begins.
 */
describe('agents API during shutdown', () => {
  /** A command delivered to agent `id` by long-poll, with the agent's token. */
  async function delivered(h: Harness, id: string): Promise<{ token: string; documentId: string }> {
    const token = await h.agentToken(id);
    const [created] = await h.send([command({ type: 'agent', id }, 'restart', { timeout: 3600 })]);
    const polled = await h.http('GET', '/api/v1/commands', { token });
    assert.equal(polled.status, 200);
    // Delivered once its answer is written out (with --workers, a message later than the answer).
    await eventually(
      async () => (((await h.admin('GET', `/api/v1/commands/${created!.document_id}`)).body as { status: string }).status === 'delivered' ? true : undefined),
      'delivered',
    );
    return { token, documentId: created!.document_id };
  }
  const refusedShuttingDown = (res: { status: number; body: unknown }) => {
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.deepEqual(res.body, { message: 'Courier is shutting down', code: 'COURIER_ERR_SHUTTING_DOWN' });
  };

  test('results (JSON and NDJSON) reported while the supervisor is stopped are refused 503, not ignored', async () => {
    const h = await startHarness({ longPollTimeout: '30s' });
    try {
      const { token, documentId } = await delivered(h, 'sd-1');
      await h.courier.supervisor.stop();

      refusedShuttingDown(await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: documentId, code: 0, message: 'done' }] } }));
      const ndjson = [
        JSON.stringify({ agent: { id: 'sd-1' } }),
        JSON.stringify({ id: documentId, module: 'command', operation: 'update' }),
        JSON.stringify({ command: { result: { code: 0, message: 'done' } } }),
      ].join('\n');
      refusedShuttingDown(await h.http('POST', '/api/v1/events/stateful', { token, body: ndjson, headers: { 'content-type': 'application/x-ndjson' } }));

      // What the WebSocket's result and ack frames call is refused the same way.
      const supervisor = h.courier.supervisor;
      await assert.rejects(supervisor.reportResults([{ document_id: documentId, code: 0, message: 'done' }], agentRoute('sd-1'), 'agent:sd-1'), isShuttingDown);
      assert.equal(((await h.admin('GET', `/api/v1/commands/${documentId}`)).body as { status: string }).status, 'delivered');
    } finally {
      await h.stop();
    }
  });

  test('a result reported while the drain is under way is refused too', async () => {
    const h = await startHarness({ longPollTimeout: '30s' });
    try {
      const { documentId } = await delivered(h, 'sd-2');
      const supervisor = h.courier.supervisor;
      const stopping = supervisor.stop();
      assert.equal(supervisor.running, false);
      await assert.rejects(supervisor.reportResults([{ document_id: documentId, code: 0, message: 'done' }], agentRoute('sd-2'), 'agent:sd-2'), isShuttingDown);
      await stopping;
    } finally {
      await h.stop();
    }
  });

  test('when the drain begins, the agents API takes no more requests or upgrades', async () => {
    const h = await startHarness({ longPollTimeout: '30s' });
    const token = await h.agentToken('sd-3');
    const supervisor = h.courier.supervisor;
    const drain = supervisor.stop.bind(supervisor);
    let probe: { http: string; upgrade: string } | undefined;
    supervisor.stop = async () => {
      probe = { http: await tryRequest(h.url, token), upgrade: await upgradeOutcome(h.url, token) };
      return drain();
    };
    await h.stop();
    assert.ok(probe, 'the supervisor was stopped');
    assert.match(probe.http, /^(refused|503 COURIER_ERR_SHUTTING_DOWN)$/, `an agent request was served during the drain: ${probe.http}`);
    assert.match(probe.upgrade, /^(refused|503 COURIER_ERR_SHUTTING_DOWN)$/, `an upgrade was accepted during the drain: ${probe.upgrade}`);
  });
});

function isShuttingDown(error: unknown): boolean {
  assert.ok(error instanceof CourierError);
  assert.equal(error.code, 'COURIER_ERR_SHUTTING_DOWN');
  assert.equal(error.statusCode, 503);
  return true;
}

/** `refused` if no connection could be made, else the status and code of the answer. */
async function tryRequest(url: string, token: string): Promise<string> {
  try {
    const res = await requestJson({
      baseUrl: url,
      method: 'POST',
      path: '/api/v1/commands/results',
      headers: { authorization: `Bearer ${token}` },
      body: { results: [{ document_id: 'x', code: 0, message: 'x' }] },
    });
    return `${res.status} ${(res.body as { code?: string } | null)?.code ?? ''}`.trim();
  } catch {
    return 'refused';
  }
}
