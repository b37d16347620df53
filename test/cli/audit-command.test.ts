import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sinceTime } from '../../src/cli/audit-command.js';

test('audit --since: a duration back from now, or a time; anything else is refused (null)', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  assert.equal(sinceTime('1h', now), '2026-12-07T11:00:00.000Z');
  assert.equal(sinceTime('15m', now), '2026-12-07T11:45:00.000Z');
  assert.equal(sinceTime('2d', now), '2026-12-05T12:00:00.000Z');
  assert.equal(sinceTime('2026-12-01T08:00:00Z', now), '2026-12-01T08:00:00.000Z');
  for (const bad of ['yesterday', '1 hour', '-1h', '']) assert.equal(sinceTime(bad, now), null, bad);
});
