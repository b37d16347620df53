import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';
import { AgentSocket, type Frame } from '../support/agent-socket.js';
import { command, eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { LogLines } from '../support/log-lines.js';

/**
 * `--workers 2`: two processes of their own serve the agents' connections and hand what the agents
 * send to courier's one supervisor. Real processes, a real listener, real WebSocket clients; a worker
 * is killed with SIGKILL. (The agents API's own tests also run with connection workers: see
 * scripts/run-tests.mjs.)
 */
describe('connection workers (--workers)', () => {
  let h: Harness;
  const out = new LogLines();

  before(async () => {
    h = await startHarness({ workers: '2' }, tempDir(), { logger: createLogger({ logLevel: 'info', logFormat: 'json' }, out) });
  });
  after(() => h.stop());

  /** The workers running now, by index (the last one started at each index). */
  const workerPids = () => new Map(out.withMessage('connection worker started').map((r) => [r.worker as number, r.pid as number]));
  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const statusOf = async (documentId: string) => ((await h.admin('GET', `/api/v1/commands/${documentId}`)).body as { status: string }).status;
  /** The next `commands` frame (other frames skipped). */
  const nextCommands = async (socket: AgentSocket): Promise<Frame> => {
    for (;;) {
      const frame = await socket.next();
      if (frame.type === 'commands') return frame;
    }
  };

  test('connections are spread over the workers, which serve commands, acks and results', async () => {
    const ids = ['w-a', 'w-b', 'w-c', 'w-d'];
    const sockets = await Promise.all(ids.map(async (id) => new AgentSocket(h.url, await h.agentToken(id)).open()));
    try {
      const served = await eventually(() => {
        const lines = out.withMessage('agent connected').filter((r) => ids.includes(r.agentId));
        return lines.length === ids.length ? new Set(lines.map((r) => r.worker)) : undefined;
      }, 'every agent connected');
      assert.deepEqual([...served].sort(), [0, 1], 'both workers hold connections');
      assert.equal(h.courier.supervisor.stats().webSocketSubscriptions, ids.length, "the supervisor holds every worker's connections");

      const created = await h.send(ids.map((id) => command({ type: 'agent', id })));
      for (const [i, socket] of sockets.entries()) {
        const frame = await nextCommands(socket);
        assert.deepEqual(
          frame.commands!.map((c) => c.document_id),
          [created[i]!.document_id],
        );
        socket.send({ type: 'results', ack: [created[i]!.document_id], results: [{ document_id: created[i]!.document_id, code: 0, message: 'done' }] });
        const answer = await socket.next();
        assert.deepEqual(answer.results, [{ document_id: created[i]!.document_id, outcome: 'recorded', status: 'success', message: 'Result recorded: success' }]);
      }
      for (const c of created) assert.equal(await statusOf(c.document_id), 'success');
      // Bad input is refused by the worker as by courier itself, and changes nothing.
      sockets[0]!.send({ type: 'ack', ids: ['not-in-flight'] });
      const refused = await sockets[0]!.next();
      assert.equal(refused.type, 'error');
      assert.equal(refused.code, 'COURIER_ERR_VALIDATION');
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
    }
  });

  test('a worker killed with SIGKILL: what its agents held goes back to pending, is delivered on their next connection, and the worker is started again', async () => {
    const before = workerPids();
    const token = await h.agentToken('w-killed');
    const socket = await new AgentSocket(h.url, token).open();
    const connected = await eventually(() => out.withMessage('agent connected').find((r) => r.agentId === 'w-killed'), 'the agent connected');
    const victim = before.get(connected.worker as number)!;
    const [created] = await h.send([command({ type: 'agent', id: 'w-killed' })]);
    // Pushed and not acked: held by the connection.
    assert.equal((await nextCommands(socket)).commands![0]!.document_id, created!.document_id);
    assert.equal(await statusOf(created!.document_id), 'sent');

    process.kill(victim, 'SIGKILL');
    await eventually(async () => ((await statusOf(created!.document_id)) === 'pending' ? true : undefined), 'the command back to pending');
    await eventually(() => (socket.ws.readyState === socket.ws.CLOSED ? true : undefined), "the agent's connection ended with its worker");

    const restarted = await eventually(() => {
      const pid = workerPids().get(connected.worker as number);
      return pid !== undefined && pid !== victim && isAlive(pid) ? pid : undefined;
    }, 'the worker started again');
    assert.ok(!isAlive(victim));

    const again = await new AgentSocket(h.url, token).open();
    try {
      const frame = await nextCommands(again);
      assert.equal(frame.commands![0]!.document_id, created!.document_id, 'delivered again');
      again.send({ type: 'results', ack: [created!.document_id], results: [{ document_id: created!.document_id, code: 0, message: 'done' }] });
      assert.equal((await again.next()).type, 'results_ack');
      assert.equal(await statusOf(created!.document_id), 'success');
    } finally {
      await again.close();
    }
    assert.ok(restarted > 0);
  });

  test('courier stopped: no worker outlives it', async () => {
    const h2 = await startHarness({ workers: '2' }, tempDir(), { logger: createLogger({ logLevel: 'info', logFormat: 'json' }, out) });
    const pids = out
      .withMessage('connection worker started')
      .slice(-2)
      .map((r) => r.pid as number);
    assert.equal(pids.length, 2);
    assert.ok(pids.every(isAlive));
    await h2.stop();
    assert.deepEqual(pids.filter(isAlive), [], 'every worker exited before stop() resolved');
  });
});
