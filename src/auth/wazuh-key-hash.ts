import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * The agent key hash Wazuh's own registration stores in `wazuh-agents` (`agent.key`):
 * base64 of a 16-byte random salt followed by PBKDF2-HMAC-SHA256 of the key (UTF-8) with
 * 100,000 iterations and a 32-byte derived key, 48 bytes in all: `Agent.hash_key` and
 * `Agent.check_key` in wazuh/wazuh framework/wazuh/core/indexer/models/agent.py.
 */
export const WAZUH_KEY_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const DERIVED_BYTES = 32;
// 48 bytes are exactly 64 base64 characters, without padding.
const WAZUH_KEY_HASH = /^[A-Za-z0-9+/]{64}$/;

const pbkdf2Async = promisify(pbkdf2);

export function isWazuhKeyHash(stored: string): boolean {
  return WAZUH_KEY_HASH.test(stored);
}

/**
 * Whether `key` is the one `stored` was made from. The derivation costs tens of ms of CPU: it runs
 * on libuv's thread pool (node's asynchronous `crypto.pbkdf2`), never on the event loop.
 */
export async function verifyWazuhKey(key: string, stored: string): Promise<boolean> {
  if (!isWazuhKeyHash(stored)) return false;
  const decoded = Buffer.from(stored, 'base64');
  const salt = decoded.subarray(0, SALT_BYTES);
  const expected = decoded.subarray(SALT_BYTES);
  const actual = await pbkdf2Async(Buffer.from(key, 'utf8'), salt, WAZUH_KEY_ITERATIONS, DERIVED_BYTES, 'sha256');
  return timingSafeEqual(expected, actual);
}

/** A hash in Wazuh's format (for fixtures and the benchmark: courier registers agents in its own format). */
export async function wazuhKeyHash(key: string, salt: Buffer): Promise<string> {
  if (salt.length !== SALT_BYTES) throw new Error(`a Wazuh key salt is ${SALT_BYTES} bytes`);
  const derived = await pbkdf2Async(Buffer.from(key, 'utf8'), salt, WAZUH_KEY_ITERATIONS, DERIVED_BYTES, 'sha256');
  return Buffer.concat([salt, derived]).toString('base64');
}
