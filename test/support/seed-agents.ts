import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { hashSecret } from '../../src/auth/secret-hash.js';

/**
 * Registers many agents straight into a data directory's (real) database before courier starts
 * on it: thousands of registrations through the API would take the test's time, not test anything.
 * Each agent's key is `key-<id>-0123456789`.
 */
export async function seedAgents(dataDir: string, ids: string[], groups: string[]): Promise<void> {
  const store = new SqliteStore({ file: join(dataDir, 'courier.db'), synchronous: 'normal' });
  try {
    for (const id of ids) await store.addAgent({ id, keyHash: hashSecret(`key-${id}-0123456789`), groups, createdAt: Date.now() });
  } finally {
    await store.close();
  }
}
