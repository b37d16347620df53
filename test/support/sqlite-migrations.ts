import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';

/**
 * A SQLite database at `file` as courier made it before the migration whose text contains `marker`:
 * every migration before that one applied, and `user_version` saying so. For tests of a migration
 * on the data a store had before it.
 */
export function databaseBefore(file: string, marker: string): Database.Database {
  const version = MIGRATIONS.findIndex((m) => m.includes(marker));
  assert.ok(version > 0, `no migration after the first contains ${JSON.stringify(marker)}`);
  const db = new Database(file);
  for (const migration of MIGRATIONS.slice(0, version)) db.exec(migration);
  db.pragma(`user_version = ${version}`);
  return db;
}
