import { errors } from '../../errors.js';

/** Result codes (primary, before any `_EXTENDED` suffix) that say the database cannot be written now, whatever is written. */
const UNAVAILABLE = new Set([
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_PROTOCOL',
  'SQLITE_NOMEM',
  'SQLITE_PERM',
]);

/**
 * SQLite's failures of the database itself as courier's store failures (see `isStoreFailure`):
 * disk full is `COURIER_ERR_STORE_FULL` (507), an unwritable, busy or damaged file
 * `COURIER_ERR_STORE_UNAVAILABLE` (503). Anything else (a constraint, a value too big) is a
 * refusal of what was written, and is given back as it is.
 */
export function toStoreFailure(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') {
    // better-sqlite3 throws a TypeError once the connection is closed (shutting down).
    return error instanceof TypeError && /database connection is not open/.test(error.message) ? errors.STORE_UNAVAILABLE.causedBy(error, error.message) : error;
  }
  const primary = code.split('_').slice(0, 2).join('_'); // SQLITE_IOERR_WRITE -> SQLITE_IOERR
  if (primary === 'SQLITE_FULL') return errors.STORE_FULL.causedBy(error, (error as Error).message);
  if (UNAVAILABLE.has(primary)) return errors.STORE_UNAVAILABLE.causedBy(error, `${(error as Error).message} (${code})`);
  return error;
}
