import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets (agent keys, operator API keys) are stored as salted SHA-256 hashes:
 * `sha256$<salt hex>$<hash hex>`. A fast hash is right here: they are machine-generated secrets of
 * at least 16 characters (32 random bytes when courier makes them), not passwords people choose,
 * and every agent re-authenticates every 15 minutes, so a slow password hash would cost a core at
 * fleet scale without protecting anything a long random secret does not already protect.
 */
export const MIN_KEY_LENGTH = 16;

export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

export function hashSecret(key: string, salt = randomBytes(16)): string {
  const digest = createHash('sha256').update(salt).update(key, 'utf8').digest();
  return `sha256$${salt.toString('hex')}$${digest.toString('hex')}`;
}

export function verifySecret(key: string, stored: string): boolean {
  const [scheme, saltHex, hashHex] = stored.split('$');
  if (scheme !== 'sha256' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = Buffer.from(hashSecret(key, Buffer.from(saltHex, 'hex')).split('$')[2]!, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
