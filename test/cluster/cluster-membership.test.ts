// A node's card in the cluster: what the other nodes read to reach it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterMembership } from '../../src/cluster/cluster-membership.js';
import { MemoryClusterDirectory } from '../support/memory-cluster-directory.js';

describe('ClusterMembership', () => {
  const make = (directory: MemoryClusterDirectory, node: string) => new ClusterMembership({ directory, node, logger: pino({ level: 'silent' }), now: () => 1234 });

  test('joining writes the card (address, CA fingerprint, a secret of its own); leaving removes it', async () => {
    const directory = new MemoryClusterDirectory();
    const one = make(directory, 'n1');
    const two = make(directory, 'n2');
    await one.join({ url: 'https://n1:55000', caFingerprint: 'AA:BB' });
    await two.join({ url: 'http://n2:55000', caFingerprint: undefined });
    assert.deepEqual(directory.nodes.get('n1'), { node: 'n1', url: 'https://n1:55000', ca_fingerprint: 'AA:BB', secret: one.secret, seen_at: 1234 });
    assert.equal('ca_fingerprint' in directory.nodes.get('n2')!, false, 'plain HTTP: no CA to pin');
    assert.match(one.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(one.secret, two.secret);
    await one.leave();
    assert.deepEqual([...directory.nodes.keys()], ['n2']);
    await two.leave();
  });

  test('a card that cannot be removed (the cluster is away) is logged, not thrown: it goes stale', async () => {
    const directory = new MemoryClusterDirectory();
    directory.leave = async () => {
      throw new Error('cluster down');
    };
    const one = make(directory, 'n1');
    await one.join({ url: 'https://n1:55000', caFingerprint: undefined });
    await one.leave();
  });
});
