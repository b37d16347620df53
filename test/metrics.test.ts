/**
 * A scrape of /metrics must not walk every open connection on the event loop: with 10,000 agents,
 * Node's default gauges of active handles and resources and the synchronous count of open
 * descriptors held it 45–60 ms per scrape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { COMMAND_STATUSES, type CommandStatus } from '../src/domain/command.js';
import { Metrics } from '../src/metrics.js';

const sources = {
  countByStatus: async () => Object.fromEntries(COMMAND_STATUSES.map((s) => [s, 0])) as Record<CommandStatus, number>,
  stats: () => ({ liveCommands: 0, longPollSubscriptions: 0, webSocketSubscriptions: 0, longPollAnswersAwaitingAck: 0 }),
};

test('a scrape neither lists every handle and resource nor reads the descriptors synchronously', async (t) => {
  const walks: string[] = [];
  const proc = process as unknown as Record<string, unknown>;
  for (const name of ['_getActiveHandles', 'getActiveResourcesInfo']) {
    const original = proc[name] as () => unknown[];
    proc[name] = () => (walks.push(name), original());
    t.after(() => (proc[name] = original));
  }
  const readdirSync = fs.readdirSync;
  fs.readdirSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    if (String(path).startsWith('/proc/self/fd')) walks.push('readdirSync /proc/self/fd');
    return (readdirSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readdirSync;
  t.after(() => (fs.readdirSync = readdirSync));

  const text = await new Metrics(sources).registry.metrics();
  assert.deepEqual(walks, []);
  assert.doesNotMatch(text, /^nodejs_active_(handles|resources)/m);
  // The other default metrics are still there, and the descriptors are counted (on Linux).
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);
  if (process.platform === 'linux') {
    const fds = Number(/^process_open_fds (\d+)$/m.exec(text)?.[1]);
    assert.ok(fds > 2, `process_open_fds ${fds}`);
  }
});
