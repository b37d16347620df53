import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { startHarness, type Harness } from '../support/courier-harness.js';

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function connectable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('inspection off (the default)', () => {
  let h: Harness;
  let port: number;
  before(async () => {
    port = await freePort();
    h = await startHarness({ inspectPort: String(port) });
  });
  after(() => h.stop());

  test('is off unless asked for', () => {
    assert.equal(h.config.inspect, false);
    assert.equal(h.courier.inspector, undefined);
  });

  test('opens no relay port', async () => {
    assert.equal(await connectable(port), false);
  });
});
