import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { CourierError } from '../../src/errors.js';

describe('inspect options', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'courier-inspect-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const load = (sources: Parameters<typeof loadConfig>[0] = {}) => loadConfig({ env: {}, cwd: dir, ...sources });

  test('off by default, relay port 8087', () => {
    const config = load();
    assert.equal(config.inspect, false);
    assert.equal(config.inspectPort, 8087);
  });

  test('--inspect, COURIER_INSPECT and a JSON boolean turn it on', () => {
    assert.equal(load({ flags: { inspect: 'true' } }).inspect, true);
    for (const value of ['true', '1', 'yes', 'on', 'TRUE']) assert.equal(load({ env: { COURIER_INSPECT: value } }).inspect, true, value);
    for (const value of ['false', '0', 'no', 'off']) assert.equal(load({ env: { COURIER_INSPECT: value } }).inspect, false, value);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ inspect: true, inspectPort: 9999 }));
    const config = load({ file });
    assert.equal(config.inspect, true);
    assert.equal(config.inspectPort, 9999);
    assert.equal(load({ file, env: { COURIER_INSPECT: 'false', COURIER_INSPECT_PORT: '9000' } }).inspectPort, 9000);
  });

  test('anything else is a configuration error naming its source', () => {
    assert.throws(
      () => load({ env: { COURIER_INSPECT: 'maybe' } }),
      (error: unknown) => error instanceof CourierError && error.code === 'COURIER_ERR_CONFIG' && error.message.includes('COURIER_INSPECT'),
    );
    assert.throws(() => load({ flags: { inspectPort: '70000' } }), CourierError);
  });
});
