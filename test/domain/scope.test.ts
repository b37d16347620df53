import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScope, scopeWithin } from '../../src/domain/scope.js';

test('scopeWithin: judged from the patterns alone, an unrestricted dimension only within an unrestricted one', () => {
  const within = (inner: string[], outer: string[]) => scopeWithin(parseScope(inner), parseScope(outer));
  assert.ok(within([], []));
  assert.ok(within(['group:web', 'action:restart'], []));
  assert.ok(within(['agent:web-1', 'agent:web-2*'], ['agent:web-*']));
  assert.ok(within(['agent:web-1'], ['agent:web-1', 'group:db']));
  assert.ok(within(['server:rbac', 'group:db'], ['group:db', 'server:rbac']));
  assert.ok(within(['group:db', 'action:restart'], ['group:db', 'action:restart', 'action:stop']));
  assert.ok(within(['group:db', 'action:restart'], ['action:restart']), 'the outer key reaches every target');

  assert.ok(!within([], ['group:db']), 'an unscoped key reaches further than a scoped one');
  assert.ok(!within(['group:db'], ['group:db', 'action:restart']), 'every action is more than one');
  assert.ok(!within(['agent:web-*'], ['agent:web-1']), 'a prefix is more than one agent');
  assert.ok(!within(['agent:web*'], ['agent:web-*']), 'a shorter prefix reaches further');
  assert.ok(!within(['agent:web-1'], ['group:web']), 'an agent is not within a group: membership changes');
  assert.ok(!within(['group:web'], ['agent:web-*']));
  assert.ok(!within(['server:rbac'], ['group:rbac']));
  assert.ok(!within(['group:db', 'action:stop'], ['group:db', 'action:restart']));
});
