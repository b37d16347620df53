import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCourier, type CommandInput, type CommandView, type Courier, type CourierEvent } from 'courier';
import { requestJson } from '../../src/http-client.js';
import { eventually, tempDir } from '../support/courier-harness.js';

const refresh = (module: string, n = 1): CommandInput[] =>
  Array.from({ length: n }, (_, i) => ({
    source: 'Users/Services',
    user: `u${i}`,
    target: { type: 'server', id: module },
    action: { name: 'refresh', args: { n: i } },
    timeout: 300,
  }));

/** A gate a handler waits at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('in-process subscriptions of a server target', () => {
  let courier: Courier;
  const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: courier.admin.socket, method, path, ...(body !== undefined ? { body } : {}) });
  before(async () => {
    courier = await createCourier({ dataDir: tempDir(), host: '127.0.0.1', port: 0, managementPort: 0, insecureHttp: true, logLevel: 'silent', longPollTimeout: 1000 });
  });
  after(() => courier.close());
  /** Live subscriptions of a transport, as the socket's metrics count them. */
  const liveSubscriptions = async (mode: string) => {
    const text = (await admin('GET', '/metrics')).body as string;
    return Number(new RegExp(`^courier_subscriptions\\{mode="${mode}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };

  test('share the target’s commands with a socket long-poller: each claimed once, run once, one result', async () => {
    const byInProcess = [new Set<string>(), new Set<string>()];
    const subscriptions = byInProcess.map((seen) =>
      courier.subscribe(
        { type: 'server', id: 'shared' },
        async (command) => {
          seen.add(command.document_id);
          await new Promise((resolve) => setImmediate(resolve));
          return { code: 0, message: 'in process' };
        },
        { maxInFlight: 2 },
      ),
    );
    // A component in another process, long-polling the same target on the socket and reporting there.
    const byPoller = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await admin('GET', '/api/v1/commands?target_type=server&target_id=shared');
        if (res.status !== 200) continue;
        const { commands } = res.body as { commands: CommandView[] };
        for (const c of commands) byPoller.add(c.document_id);
        const results = commands.map((c) => ({ document_id: c.document_id, code: 0, message: 'over the socket' }));
        if (results.length > 0) assert.equal((await admin('POST', '/api/v1/commands/results', { results })).status, 200);
      }
    })();
    try {
      // The poll is held before the commands exist, as is each in-process subscription (a pushed one, as a WebSocket's).
      await eventually(async () => ((await liveSubscriptions('long-poll')) === 1 && (await liveSubscriptions('websocket')) === 2 ? true : undefined), 'the poll held');
      const made = await courier.commands.submit(refresh('shared', 40), { who: 'user:tester' });
      const ids = made.map((c) => c.document_id);
      const finished = await eventually(async () => {
        const views = await Promise.all(ids.map((id) => courier.commands.get(id)));
        return views.every((v) => v?.status === 'success') ? views : undefined;
      }, 'every command finished');
      const runs = [...byInProcess.flatMap((s) => [...s]), ...byPoller];
      assert.deepEqual([...runs].sort(), [...ids].sort(), 'every command ran exactly once, by one subscriber');
      for (const seen of [...byInProcess, byPoller]) assert.ok(seen.size > 0, 'each subscriber took some');
      for (const view of finished) {
        const ranInProcess = byInProcess.some((s) => s.has(view!.document_id));
        assert.equal(view!.result?.message, ranInProcess ? 'in process' : 'over the socket');
        const trail = (await courier.commands.history(view!.document_id))!.map((e) => e.to);
        assert.deepEqual(trail, ['pending', 'sent', 'delivered', 'success'], view!.document_id);
      }
    } finally {
      polling = false;
      await Promise.all(subscriptions.map((s) => s.close()));
      await poller;
    }
  });

  test('a handler that returns nothing succeeds; one that throws fails, with its message; an outcome is the result', async () => {
    const sub = courier.subscribe({ type: 'server', id: 'outcomes' }, (command) => {
      const args = command.action.args as { n: number };
      if (args.n === 0) return;
      if (args.n === 1) throw new Error('cache unreachable');
      return { code: 7, message: 'partly', data: { kept: 3 } };
    });
    try {
      const made = await courier.commands.submit(refresh('outcomes', 3), { who: 'user:tester' });
      const views = await eventually(async () => {
        const all = await Promise.all(made.map((c) => courier.commands.get(c.document_id)));
        return all.every((v) => v?.result) ? all : undefined;
      }, 'three results');
      assert.deepEqual(
        views.map((v) => [v!.status, v!.result]),
        [
          ['success', { code: 0, message: 'done' }],
          ['failure', { code: 1, message: 'cache unreachable' }],
          ['failure', { code: 7, message: 'partly', data: { kept: 3 } }],
        ],
      );
    } finally {
      await sub.close();
    }
  });

  test('run in the order they were made; closing hands back what was not started, for the next subscriber', async () => {
    const first = gate();
    const order: string[] = [];
    const sub = courier.subscribe(
      { type: 'server', id: 'handback' },
      async (command) => {
        order.push(command.document_id);
        await first.opened;
      },
      { maxInFlight: 4 },
    );
    const made = await courier.commands.submit(refresh('handback', 3), { who: 'user:tester' });
    const ids = made.map((c) => c.document_id);
    await eventually(async () => (order.length === 1 && (await courier.commands.get(ids[2]!))?.status === 'sent' ? true : undefined), 'all three handed to it, the first run');
    assert.deepEqual(order, [ids[0]], 'one at a time, the first first');
    assert.equal((await courier.commands.get(ids[0]!))?.status, 'delivered', 'taken by the handler: delivered');
    const closing = sub.close();
    assert.equal(sub.closed, true);
    first.open();
    await closing;
    // The one it ran has its result; the two it held go back to pending, untouched by its handler.
    assert.equal((await courier.commands.get(ids[0]!))?.status, 'success');
    await eventually(async () => ((await courier.commands.get(ids[2]!))?.status === 'pending' ? true : undefined), 'handed back');
    assert.equal((await courier.commands.get(ids[1]!))?.status, 'pending');
    assert.deepEqual(order, [ids[0]]);
    const next: string[] = [];
    const again = courier.subscribe({ type: 'server', id: 'handback' }, (command) => void next.push(command.document_id));
    try {
      await eventually(async () => ((await courier.commands.get(ids[2]!))?.status === 'success' ? true : undefined), 'the next subscriber ran them');
      assert.deepEqual(next, [ids[1], ids[2]]);
    } finally {
      await again.close();
    }
  });

  test('an agent’s target, or a malformed one, cannot be subscribed to in process', () => {
    assert.throws(() => courier.subscribe({ type: 'agent', id: 'a1' } as never, () => {}), { code: 'COURIER_ERR_SUBSCRIPTION_TARGET' });
    assert.throws(() => courier.subscribe({ type: 'server', id: '' }, () => {}), { code: 'COURIER_ERR_SUBSCRIPTION_TARGET' });
    assert.throws(() => courier.subscribe({ type: 'server', id: 'x' }, () => {}, { maxInFlight: 0 }), { code: 'COURIER_ERR_VALIDATION' });
  });

  test('the transition feed hands on every transition of a command run in process, in order, once', async () => {
    const events: CourierEvent[] = [];
    const stop = courier.events.listen((event) => void events.push(event), { filter: { targetId: 'feed' } });
    const sub = courier.subscribe({ type: 'server', id: 'feed' }, () => ({ code: 0, message: 'fed' }));
    try {
      const [made] = await courier.commands.submit(refresh('feed'), { who: 'user:feeder' });
      const transitions = await eventually(() => {
        const mine = events.filter((e) => e.kind === 'transition' && e.document_id === made!.document_id);
        return mine.length >= 4 ? mine : undefined;
      }, 'four transitions');
      // A later command's last transition handed on: the feed has gone past everything of the first.
      const [later] = await courier.commands.submit(refresh('feed'), { who: 'user:feeder' });
      await eventually(() => (events.some((e) => e.document_id === later!.document_id && e.kind === 'transition' && e.to === 'success') ? true : undefined), 'the later command');
      assert.deepEqual(
        events.filter((e) => e.document_id === made!.document_id).map((e) => (e.kind === 'transition' ? [e.from, e.to, e.actor] : e.kind)),
        [
          [null, 'pending', 'user:feeder'],
          ['pending', 'sent', 'component:feed'],
          ['sent', 'delivered', 'component:feed'],
          ['delivered', 'success', 'component:feed'],
        ],
      );
      assert.match(transitions[0]!.at, /^\d{4}-\d\d-\d\dT/);
    } finally {
      stop();
      await sub.close();
    }
  });
});
