import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateSecret, hashSecret, MIN_KEY_LENGTH, verifySecret } from '../../src/auth/secret-hash.js';

const KEY = 'a-machine-generated-key-0123456789';

describe('agent keys', () => {
  test('the stored form is sha256$<salt hex>$<hash hex> and never contains the key', () => {
    const stored = hashSecret(KEY);
    assert.match(stored, /^sha256\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    assert.ok(!stored.includes(KEY));
  });

  test('hash then verify: the same key is accepted', () => {
    assert.equal(verifySecret(KEY, hashSecret(KEY)), true);
    const generated = generateSecret();
    assert.equal(verifySecret(generated, hashSecret(generated)), true);
  });

  test('a wrong key is refused', () => {
    const stored = hashSecret(KEY);
    for (const wrong of [`${KEY}x`, KEY.slice(0, -1), KEY.toUpperCase(), '', ' '.repeat(KEY.length), `${KEY.slice(0, -1)}8`]) {
      assert.equal(verifySecret(wrong, stored), false, JSON.stringify(wrong));
    }
  });

  test('salts differ: the same key hashes differently each time, and each hash verifies', () => {
    const hashes = new Set(Array.from({ length: 20 }, () => hashSecret(KEY)));
    assert.equal(hashes.size, 20);
    const salts = new Set([...hashes].map((h) => h.split('$')[1]));
    assert.equal(salts.size, 20);
    for (const stored of hashes) assert.equal(verifySecret(KEY, stored), true);
  });

  test('with a given salt, hashing is deterministic', () => {
    const salt = Buffer.alloc(16, 7);
    assert.equal(hashSecret(KEY, salt), hashSecret(KEY, salt));
    assert.notEqual(hashSecret(KEY, salt), hashSecret(`${KEY}!`, salt));
  });

  test('a malformed stored hash is refused, never thrown on', () => {
    const [, salt, hash] = hashSecret(KEY).split('$') as [string, string, string];
    const malformed = [
      '',
      'garbage',
      'sha256',
      'sha256$',
      'sha256$$',
      `sha256$${salt}$`,
      `sha256$$${hash}`,
      `md5$${salt}$${hash}`,
      `SHA256$${salt}$${hash}`,
      `sha256$${salt}$${hash.slice(0, -2)}`,
      `sha256$${salt}$${'g'.repeat(64)}`,
      `sha256$${'z'.repeat(32)}$${hash}`,
      `sha256$${salt.slice(0, -2)}$${hash}`,
      `${KEY}`,
    ];
    for (const stored of malformed) {
      assert.doesNotThrow(() => verifySecret(KEY, stored), JSON.stringify(stored));
      assert.equal(verifySecret(KEY, stored), false, JSON.stringify(stored));
    }
  });

  test('generated keys are long, hex and unique', () => {
    const keys = Array.from({ length: 10 }, generateSecret);
    for (const key of keys) {
      assert.match(key, /^[0-9a-f]{64}$/);
      assert.ok(key.length >= MIN_KEY_LENGTH);
    }
    assert.equal(new Set(keys).size, keys.length);
  });
});
