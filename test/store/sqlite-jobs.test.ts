import { after, before, describe } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { jobStoreTests } from '../support/job-store-suite.js';

describe('SQLite store: jobs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-sqlite-jobs-'));
  let store: SqliteStore;
  before(async () => {
    store = new SqliteStore({ file: join(dir, 'courier.db'), synchronous: 'normal' });
    await store.open();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  jobStoreTests(() => store, 0);
});
