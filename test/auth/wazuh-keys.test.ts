import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextCheck } from 'node:timers/promises';
import { AgentKeyVerifier } from '../../src/auth/agent-key-verifier.js';
import { hashSecret } from '../../src/auth/secret-hash.js';
import { isWazuhKeyHash, verifyWazuhKey, wazuhKeyHash } from '../../src/auth/wazuh-key-hash.js';
import { WAZUH_KEY_VECTORS } from '../support/wazuh-key-vectors.js';

describe("Wazuh's agent key hash", () => {
  for (const vector of WAZUH_KEY_VECTORS) {
    test(`the hash Python made for ${JSON.stringify(vector.key)} verifies with its key, and no other`, async () => {
      assert.ok(isWazuhKeyHash(vector.stored));
      assert.equal(await verifyWazuhKey(vector.key, vector.stored), true);
      assert.equal(await verifyWazuhKey(`${vector.key}x`, vector.stored), false);
      assert.equal(await verifyWazuhKey(vector.key.slice(1), vector.stored), false);
      // The same derivation here gives the same bytes.
      assert.equal(await wazuhKeyHash(vector.key, Buffer.from(vector.saltHex, 'hex')), vector.stored);
    });
  }

  test("courier's own format and anything else are not taken for Wazuh's", async () => {
    for (const other of [
      hashSecret('some-key-0123456789'),
      '',
      'D09r1+n/YMg/2l0wOpkvQS7F0BwjhynPxnr18cGkjOZkNTbZHWYOxRqJttp81JD',
      'D09r1+n/YMg/2l0wOpkvQS7F0BwjhynPxnr18cGkjOZkNTbZHWYOxRqJttp81JDq=',
    ]) {
      assert.equal(isWazuhKeyHash(other), false, other);
      assert.equal(await verifyWazuhKey('some-key-0123456789', other), false);
    }
  });

  test('the event loop keeps turning while a key is derived (the thread pool does the work)', async () => {
    const [vector] = WAZUH_KEY_VECTORS;
    let done = false;
    const check = verifyWazuhKey(vector.key, vector.stored).then((ok) => {
      done = true;
      return ok;
    });
    await nextCheck();
    assert.equal(done, false, 'a derivation on the event loop would have ended before the loop turned');
    assert.equal(await check, true);
  });
});

describe('the agent key verifier', () => {
  const [wazuh] = WAZUH_KEY_VECTORS;
  /** A verifier whose full Wazuh-key checks are counted. */
  const counted = (maxEntries?: number) => {
    const calls = { n: 0 };
    const verifier = new AgentKeyVerifier({
      unknownAgentCost: 'wazuh',
      ...(maxEntries !== undefined ? { maxEntries } : {}),
      checkWazuhKey: (key, stored) => {
        calls.n++;
        return verifyWazuhKey(key, stored);
      },
    });
    return { verifier, calls };
  };

  test("courier's sha256 format keeps working, without the cache", async () => {
    const { verifier, calls } = counted();
    const stored = hashSecret('a-courier-key-0123456789');
    assert.equal(await verifier.verify('c-1', 'a-courier-key-0123456789', stored), true);
    assert.equal(await verifier.verify('c-1', 'another-key-0123456789', stored), false);
    assert.equal(calls.n, 0);
    assert.equal(verifier.size, 0);
  });

  test('a Wazuh key is derived once; its re-authentications are answered from the cache', async () => {
    const { verifier, calls } = counted();
    assert.equal(await verifier.verify('w-1', wazuh.key, wazuh.stored), true);
    assert.equal(calls.n, 1);
    for (let i = 0; i < 5; i++) assert.equal(await verifier.verify('w-1', wazuh.key, wazuh.stored), true);
    assert.equal(calls.n, 1, 'every re-authentication after the first is a cache hit');
  });

  test('a wrong key is derived every time and never cached; the right one still hits', async () => {
    const { verifier, calls } = counted();
    await verifier.verify('w-2', wazuh.key, wazuh.stored);
    for (let i = 0; i < 3; i++) assert.equal(await verifier.verify('w-2', `${wazuh.key}-wrong`, wazuh.stored), false);
    assert.equal(calls.n, 4);
    assert.equal(await verifier.verify('w-2', wazuh.key, wazuh.stored), true);
    assert.equal(calls.n, 4);
  });

  test('the entry is bound to the agent and to the stored hash: another agent, or a changed key, is derived again', async () => {
    const { verifier, calls } = counted();
    await verifier.verify('w-3', wazuh.key, wazuh.stored);
    // The same key and hash under another id: not this agent's entry.
    assert.equal(await verifier.verify('w-4', wazuh.key, wazuh.stored), true);
    assert.equal(calls.n, 2);
    // The agent registered again with another key: the old key no longer passes, from the cache or otherwise.
    const other = WAZUH_KEY_VECTORS[1];
    assert.equal(await verifier.verify('w-3', wazuh.key, other.stored), false);
    assert.equal(await verifier.verify('w-3', other.key, other.stored), true);
    assert.equal(calls.n, 4);
    assert.equal(await verifier.verify('w-3', other.key, other.stored), true);
    assert.equal(calls.n, 4);
  });

  test('the cache is bounded: past its size the least recently verified agent is forgotten', async () => {
    const { verifier, calls } = counted(2);
    await verifier.verify('a', wazuh.key, wazuh.stored);
    await verifier.verify('b', wazuh.key, wazuh.stored);
    await verifier.verify('a', wazuh.key, wazuh.stored); // a is now the most recent
    await verifier.verify('c', wazuh.key, wazuh.stored); // evicts b
    assert.equal(verifier.size, 2);
    assert.equal(calls.n, 3);
    await verifier.verify('a', wazuh.key, wazuh.stored);
    await verifier.verify('c', wazuh.key, wazuh.stored);
    assert.equal(calls.n, 3, 'a and c are still cached');
    await verifier.verify('b', wazuh.key, wazuh.stored);
    assert.equal(calls.n, 4, 'b was evicted');
    verifier.forget('b');
    assert.equal(verifier.size, 1);
  });

  test('an unknown agent costs a full derivation too (in a store where Wazuh keys live)', async () => {
    const { verifier, calls } = counted();
    await verifier.decoy('any-key');
    assert.equal(calls.n, 1);
  });
});
