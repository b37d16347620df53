/**
 * On a cluster the supervisor says when a route starts being served here and when it stops: what
 * the connection records in the cluster follow (see src/cluster/connection-records.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SubscriptionMode } from '../../src/runtime/subscription.js';
import { eventually } from '../support/courier-harness.js';
import { supervisorOnSharedStore } from '../support/shared-store.js';

describe('supervisor: routes served here, on a cluster', () => {
  test('told when a route starts being served, again when it comes back after a while (not at a long-poll’s next poll), and when its grace has passed', async () => {
    const told: [string, SubscriptionMode | null][] = [];
    const { supervisor, clock } = supervisorOnSharedStore({ affinityGraceMs: 30_000, onRouteServed: (route, servedBy) => told.push([route, servedBy]) });
    await supervisor.start();
    const open = (mode: SubscriptionMode) => supervisor.subscribe('agent:r1', mode, 'agent:r1', { push: () => {}, drain: () => {} }, { longPollTimeoutMs: 60_000 });
    try {
      supervisor.unsubscribe(open('websocket'));
      assert.deepEqual(told, [['agent:r1', 'websocket']]);
      clock.t += 1_000;
      supervisor.unsubscribe(open('long-poll'));
      assert.equal(told.length, 1, 'a subscription back within a second is not news');
      clock.t += 6_000;
      const third = open('long-poll');
      assert.deepEqual(told.at(-1), ['agent:r1', 'long-poll'], 'back after 6 s: recorded again (another node may have recorded it meanwhile)');
      supervisor.unsubscribe(third);
      clock.t += 31_000;
      await eventually(() => (told.length === 3 ? true : undefined), 'told the route is no longer served (the grace passed)');
      assert.deepEqual(told.at(-1), ['agent:r1', null]);
    } finally {
      await supervisor.stop();
    }
  });

  test('a node alone on its store (no affinity) is told nothing', async () => {
    const told: unknown[] = [];
    const { supervisor } = supervisorOnSharedStore({ onRouteServed: (...args) => told.push(args) });
    await supervisor.start();
    supervisor.unsubscribe(supervisor.subscribe('agent:r2', 'websocket', 'agent:r2', { push: () => {}, drain: () => {} }));
    await supervisor.stop();
    assert.deepEqual(told, []);
  });
});
