// Agents' groups on the embedded store: an operator's edit, and the change a set-group command's
// success carries, written in the transaction of that transition (the same tests as OpenSearch's).
import { after, before, describe } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { membershipStoreTests } from '../../support/membership-store-suite.js';

describe("SQLite store: agents' groups", () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-groups-'));
  let store: SqliteStore;
  before(async () => {
    store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
    await store.open();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  membershipStoreTests(() => store);
});
