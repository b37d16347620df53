import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveStateTally, statePaths } from '../../src/domain/live-states.js';

describe('live states', () => {
  test('a state value as the paths of the states it is in', () => {
    assert.deepEqual(statePaths('sent'), ['sent']);
    assert.deepEqual(statePaths({ active: { poll: 'tailing', rescan: 'ticking' } }), ['active.poll.tailing', 'active.rescan.ticking']);
    assert.deepEqual(statePaths({ running: 'idle' }), ['running.idle']);
  });

  test('a tally counts each machine by state and lists the first 50 actors', () => {
    const tally = new LiveStateTally();
    for (let i = 0; i < 60; i++) tally.add('command', `c${i}`, i % 3 === 0 ? 'sent' : 'pending');
    tally.add('indexerPoller', 'poller', { active: { poll: 'tailing', rescan: 'ticking' } });
    const { command, indexerPoller } = tally.machines;
    assert.deepEqual(command!.counts, { sent: 20, pending: 40 });
    assert.equal(command!.actors.length, 50);
    assert.deepEqual(command!.actors[0], { id: 'c0', states: ['sent'] });
    assert.deepEqual(indexerPoller!.counts, { 'active.poll.tailing': 1, 'active.rescan.ticking': 1 });
  });
});
