// Which routes a node records as connected to it, gathered into few writes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ConnectionRecords } from '../../src/cluster/connection-records.js';
import { eventually } from '../support/courier-harness.js';
import { MemoryClusterDirectory } from '../support/memory-cluster-directory.js';

describe('ConnectionRecords', () => {
  const make = (directory: MemoryClusterDirectory) => new ConnectionRecords(directory, 'node-me', pino({ level: 'silent' }), () => 42);

  test('routes that start being served are recorded as this node’s; those that stop are removed', async () => {
    const directory = new MemoryClusterDirectory();
    const records = make(directory);
    records.changed('agent:1', 'websocket');
    records.changed('agent:2', 'websocket');
    await eventually(() => (directory.connected.size === 2 ? true : undefined), 'both recorded');
    assert.deepEqual(directory.connected.get('agent:1'), { route: 'agent:1', node: 'node-me', transport: 'websocket', since: 42 });
    records.changed('agent:1', null);
    await eventually(() => (directory.connected.has('agent:1') ? undefined : true), 'agent:1 removed');
    assert.ok(directory.connected.has('agent:2'));
    await records.close();
  });

  test('a route that comes and goes within one gathering ends as its last change says', async () => {
    const directory = new MemoryClusterDirectory();
    const records = make(directory);
    records.changed('agent:1', 'websocket');
    records.changed('agent:1', null);
    records.changed('agent:2', null);
    records.changed('agent:2', 'websocket');
    await eventually(() => (directory.connected.has('agent:2') ? true : undefined), 'agent:2 recorded');
    assert.equal(directory.connected.has('agent:1'), false);
    await records.close();
  });

  test('close writes what is pending and removes every record of this node, not those of others', async () => {
    const directory = new MemoryClusterDirectory();
    directory.connected.set('agent:other', { route: 'agent:other', node: 'node-other', transport: 'long-poll', since: 1 });
    const records = make(directory);
    records.changed('agent:1', 'websocket');
    await eventually(() => (directory.connected.has('agent:1') ? true : undefined), 'recorded');
    records.changed('agent:2', 'websocket');
    await records.close();
    assert.deepEqual([...directory.connected.keys()], ['agent:other']);
  });

  test('a removal the cluster did not carry out is tried again', async () => {
    const directory = new MemoryClusterDirectory();
    const disconnect = directory.disconnect.bind(directory);
    const asked: string[][] = [];
    directory.disconnect = async (routes) => {
      asked.push(routes);
      // The first removal is answered "not now" (a shard busy): it must be asked again.
      return asked.length === 1 ? routes : disconnect(routes);
    };
    const records = make(directory);
    records.changed('agent:1', 'websocket');
    await eventually(() => (directory.connected.has('agent:1') ? true : undefined), 'recorded');
    records.changed('agent:1', null);
    await eventually(() => (asked.length === 1 ? true : undefined), 'a first removal asked');
    await records.close();
    assert.deepEqual(asked[1], ['agent:1']);
    assert.equal(directory.connected.has('agent:1'), false);
  });

  test('a record that cannot be written is logged and does not stop later ones; a close that cannot remove records does not throw', async () => {
    const directory = new MemoryClusterDirectory();
    const connect = directory.connect.bind(directory);
    let attempts = 0;
    directory.connect = async (routes, node, at) => {
      if (++attempts === 1) throw new Error('cluster down');
      return connect(routes, node, at);
    };
    const records = make(directory);
    records.changed('agent:1', 'websocket');
    await eventually(() => (attempts === 1 ? true : undefined), 'the first write tried');
    records.changed('agent:2', 'websocket');
    await eventually(() => (directory.connected.has('agent:2') ? true : undefined), 'recorded after the failure');
    assert.equal(directory.connected.has('agent:1'), false, 'not retried: a record is a hint');
    directory.clear = async () => {
      throw new Error('cluster down');
    };
    await records.close();
  });
});
