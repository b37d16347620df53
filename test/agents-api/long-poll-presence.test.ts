import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LongPollPresence } from '../../src/agents-api/long-poll-presence.js';
import { createLogger } from '../../src/logger.js';
import { LogLines } from '../support/log-lines.js';

describe('long-polling agents coming and going', () => {
  function setup() {
    const clock = { t: 1_000_000 };
    const out = new LogLines();
    const presence = new LongPollPresence({ node: 'n1', logger: createLogger({ logLevel: 'info', logFormat: 'json' }, out), now: () => clock.t, goneAfterMs: 60_000 });
    const lines = () => out.records().map((r) => `${r.msg as string} ${r.agentId as string}`);
    return { clock, out, presence, lines };
  }

  test('one line when first seen, none for the polls that follow, one once it has gone a minute without a poll', () => {
    const { clock, out, presence, lines } = setup();
    try {
      for (let poll = 0; poll < 5; poll++) {
        const ended = presence.opened('a-1', '10.0.0.7');
        clock.t += 30_000;
        ended();
        ended(); // a second call changes nothing
      }
      assert.deepEqual(lines(), ['agent connected a-1']);
      const seen = out.records()[0]!;
      assert.deepEqual({ transport: seen.transport, node: seen.node, address: seen.address }, { transport: 'long-poll', node: 'n1', address: '10.0.0.7' });
      clock.t += 59_999;
      presence.sweep();
      assert.deepEqual(lines(), ['agent connected a-1'], 'between two polls, not gone');
      clock.t += 1;
      presence.sweep();
      assert.deepEqual(lines(), ['agent connected a-1', 'agent disconnected a-1']);
      const gone = out.records()[1]!;
      assert.deepEqual(
        { transport: gone.transport, reason: gone.reason, connectedMs: gone.connectedMs },
        { transport: 'long-poll', reason: 'no poll for 60 s', connectedMs: 150_000 },
      );
      assert.equal(presence.size, 0);
      presence.opened('a-1', '10.0.0.7')();
      assert.deepEqual(lines().at(-1), 'agent connected a-1', 'back: seen again');
    } finally {
      presence.close();
    }
  });

  test('an agent with a poll open is not gone, however long the poll is held', () => {
    const { clock, presence, lines } = setup();
    try {
      const first = presence.opened('a-2', '10.0.0.8');
      const second = presence.opened('a-2', '10.0.0.8');
      first();
      clock.t += 600_000;
      presence.sweep();
      assert.deepEqual(lines(), ['agent connected a-2']);
      second();
      clock.t += 60_000;
      presence.sweep();
      assert.deepEqual(lines(), ['agent connected a-2', 'agent disconnected a-2']);
    } finally {
      presence.close();
    }
  });
});
