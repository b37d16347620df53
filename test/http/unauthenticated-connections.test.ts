import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnauthenticatedConnections } from '../../src/http/unauthenticated-connections.js';
import { Metrics } from '../../src/metrics.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { RawConnection } from '../support/raw-connection.js';

test('a flood of refused connections is counted one by one and logged once', async () => {
  const { logger, records } = capturingLogger();
  // Only the refusal counter is read here: the gauges' sources are never collected.
  const metrics = new Metrics({
    countByStatus: () => Promise.reject(new Error('not collected in this test')),
    stats: () => ({ liveCommands: 0, longPollSubscriptions: 0, webSocketSubscriptions: 0, longPollAnswersAwaitingAck: 0 }),
  });
  const server = createServer((_request, response) => response.end('{}'));
  new UnauthenticatedConnections({ api: 'agents', maxPerAddress: 1, logger, metrics }).attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const held = await RawConnection.open(url);
    held.request('GET', '/');
    assert.equal((await held.response()).status, 200, 'the first connection is served');
    for (let i = 0; i < 5; i++) {
      const refused = await RawConnection.open(url);
      assert.equal((await refused.response()).status, 429);
      await refused.closedWithin();
    }
    const counted = (await metrics.registry.getSingleMetric('courier_connections_refused_total')!.get()).values;
    assert.deepEqual(
      counted.map((v) => [v.labels.api, v.value]),
      [['agents', 5]],
    );
    const logged = records.filter((r) => /connections refused/.test(r.msg));
    assert.equal(logged.length, 1, JSON.stringify(records));
    assert.equal(logged[0]!.address, '127.0.0.1');
    held.destroy();
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
