/**
 * Store-level tests of enrollment tokens, run against each adapter (the embedded SQLite store and
 * OpenSearch): create, read, list, revoke once, and redeem within the token's limits, also when
 * many redeem it at once (the use count never passes max_uses, and nothing is written for a refusal).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EnrollmentTokenRecord } from '../../src/store/enrollment-token-store.js';
import type { CommandStore } from '../../src/store/store.js';
import type { AgentRecord } from '../../src/store/records.js';

const T0 = 1_800_000_000_000;
let n = 0;

export function tokenRecord(overrides: Partial<EnrollmentTokenRecord> = {}): EnrollmentTokenRecord {
  n++;
  return {
    id: `${'0'.repeat(12)}${n.toString(16).padStart(4, '0')}`,
    tokenHash: `hash-${n}`,
    groups: ['linux'],
    createdAt: T0,
    createdBy: 'tester',
    expiresAt: null,
    maxUses: null,
    uses: 0,
    revokedAt: null,
    ...overrides,
  };
}

const agent = (id: string, groups = ['linux']): AgentRecord => ({ id, keyHash: `key-of-${id}`, groups, createdAt: T0 });

/** Registers the suite's tests; `store()` gives the (open) store under test, shared by the tests. */
export function enrollmentTokenStoreTests(store: () => CommandStore): void {
  const tokens = () => store().enrollmentTokens!;

  test('tokens: add, read, list (oldest first), revoke once', async () => {
    const a = tokenRecord({ createdAt: T0 + 1, groups: ['linux', 'web'], expiresAt: T0 + 3_600_000, maxUses: 3 });
    const b = tokenRecord({ createdAt: T0 + 2 });
    await tokens().addEnrollmentToken(a);
    await tokens().addEnrollmentToken(b);
    assert.deepEqual(await tokens().getEnrollmentToken(a.id), a);
    assert.equal(await tokens().getEnrollmentToken('ffffffffffffffff'), null);
    const listed = (await tokens().listEnrollmentTokens()).filter((t) => t.id === a.id || t.id === b.id);
    assert.deepEqual(listed, [a, b]);
    assert.equal(await tokens().revokeEnrollmentToken(a.id, T0 + 5), true);
    assert.equal(await tokens().revokeEnrollmentToken(a.id, T0 + 6), false, 'revoked once');
    assert.equal(await tokens().revokeEnrollmentToken('ffffffffffffffff', T0 + 6), false);
    assert.equal((await tokens().getEnrollmentToken(a.id))!.revokedAt, T0 + 5);
  });

  test('redeeming counts one use and registers the agent, in the token groups', async () => {
    const t = tokenRecord({ groups: ['linux', 'db'], maxUses: 2 });
    await tokens().addEnrollmentToken(t);
    assert.equal(await tokens().redeemEnrollmentToken(t.id, { ...agent(`${t.id}-a`, t.groups), name: 'host-a' }, T0), 'enrolled');
    assert.equal((await tokens().getEnrollmentToken(t.id))!.uses, 1);
    assert.deepEqual(await store().getAgent(`${t.id}-a`), { ...agent(`${t.id}-a`, t.groups), name: 'host-a' });
    assert.deepEqual(
      (await store().agentsInGroup('db')).map((m) => m.id).filter((id) => id.startsWith(t.id)),
      [`${t.id}-a`],
    );
  });

  test('an expired, revoked, exhausted or unknown token registers nothing and counts nothing', async () => {
    const expired = tokenRecord({ expiresAt: T0 + 1000 });
    const revoked = tokenRecord({ revokedAt: T0 });
    const exhausted = tokenRecord({ maxUses: 1, uses: 1 });
    for (const t of [expired, revoked, exhausted]) await tokens().addEnrollmentToken(t);
    for (const t of [expired, revoked, exhausted]) {
      assert.equal(await tokens().redeemEnrollmentToken(t.id, agent(`${t.id}-x`), T0 + 1000), 'token-unusable', t.id);
      assert.equal(await store().getAgent(`${t.id}-x`), null);
      assert.deepEqual(await tokens().getEnrollmentToken(t.id), t, 'unchanged');
    }
    assert.equal(await tokens().redeemEnrollmentToken('eeeeeeeeeeeeeeee', agent('nobody-x'), T0), 'token-unusable');
    assert.equal(await store().getAgent('nobody-x'), null);
  });

  test('an agent id already registered: refused, its registration untouched, no use counted', async () => {
    const t = tokenRecord({ maxUses: 5 });
    await tokens().addEnrollmentToken(t);
    const existing = agent(`${t.id}-taken`, ['other']);
    assert.equal(await store().addAgent(existing), true);
    assert.equal(await tokens().redeemEnrollmentToken(t.id, agent(`${t.id}-taken`), T0), 'agent-exists');
    assert.deepEqual(await store().getAgent(`${t.id}-taken`), existing);
    assert.equal((await tokens().getEnrollmentToken(t.id))!.uses, 0);
  });

  test('many redeeming one token at once: exactly max_uses enroll, the count stops at max_uses', async () => {
    const t = tokenRecord({ maxUses: 5 });
    await tokens().addEnrollmentToken(t);
    const ids = Array.from({ length: 20 }, (_, i) => `${t.id}-c${i}`);
    const outcomes = await Promise.all(ids.map((id) => tokens().redeemEnrollmentToken(t.id, agent(id), T0)));
    assert.equal(outcomes.filter((o) => o === 'enrolled').length, 5, JSON.stringify(outcomes));
    assert.equal(outcomes.filter((o) => o === 'token-unusable').length, 15);
    assert.equal((await tokens().getEnrollmentToken(t.id))!.uses, 5);
    const registered = (await Promise.all(ids.map((id) => store().getAgent(id)))).filter((a) => a !== null);
    assert.deepEqual(registered.map((a) => a.id).sort(), ids.filter((_, i) => outcomes[i] === 'enrolled').sort(), 'exactly the winners are registered');
  });

  test('two redeeming a max_uses 1 token at once: exactly one wins', async () => {
    const t = tokenRecord({ maxUses: 1 });
    await tokens().addEnrollmentToken(t);
    const outcomes = await Promise.all([tokens().redeemEnrollmentToken(t.id, agent(`${t.id}-1`), T0), tokens().redeemEnrollmentToken(t.id, agent(`${t.id}-2`), T0)]);
    assert.deepEqual([...outcomes].sort(), ['enrolled', 'token-unusable']);
    assert.equal((await tokens().getEnrollmentToken(t.id))!.uses, 1);
  });

  test('a token without max_uses enrolls everyone who redeems it at once', async () => {
    const t = tokenRecord();
    await tokens().addEnrollmentToken(t);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => tokens().redeemEnrollmentToken(t.id, agent(`${t.id}-u${i}`), T0)));
    assert.ok(
      outcomes.every((o) => o === 'enrolled'),
      JSON.stringify(outcomes),
    );
    assert.equal((await tokens().getEnrollmentToken(t.id))!.uses, 10);
  });

  test('replacing an agent: one registration in place of the other; false when there was none', async () => {
    const first = { ...agent('replaced-1', ['a']), name: 'first' };
    assert.equal(await store().replaceAgent(first), false);
    assert.deepEqual(await store().getAgent('replaced-1'), first);
    const second = { ...agent('replaced-1', ['b']), keyHash: 'another-key', createdAt: T0 + 1 };
    assert.equal(await store().replaceAgent(second), true);
    assert.deepEqual(await store().getAgent('replaced-1'), second);
    assert.deepEqual((await store().agentGroups(['replaced-1'])).get('replaced-1'), ['b']);
    assert.deepEqual(
      (await store().agentsInGroup('a')).filter((m) => m.id === 'replaced-1'),
      [],
      'no longer in its old group',
    );
  });
}
