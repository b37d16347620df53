import { UNFINISHED_STATUSES } from '../../domain/command.js';

/**
 * The condition that selects unfinished commands, from the domain's list: the partial index below and
 * the recovery query say it in the same words, as SQLite uses a partial index only for a query whose
 * WHERE implies the index's. A change to the list needs a migration that creates the index again
 * (a database migrated before keeps the index it was given).
 *
 * Said as equalities joined by OR, not as `status IN (…)`: SQLite evaluates a partial index's
 * condition on every insert and on both sides of every update of a command, and an IN list of more
 * than two values is built into a temporary B-tree each time it is evaluated (a new page cache and a
 * zeroed 4 KB page: 19 % of the store benchmark's instructions, measured).
 */
export const UNFINISHED_CONDITION = `(${UNFINISHED_STATUSES.map((status) => `status = '${status}'`).join(' OR ')})`;

/**
 * The embedded store's schema, one migration per version (PRAGMA user_version).
 * The immutable creation fields of a command are kept as JSON in `doc`;
 * what changes over its lifecycle has columns of its own.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE commands (
    document_id        TEXT PRIMARY KEY,
    seq                INTEGER NOT NULL UNIQUE,
    route              TEXT NOT NULL,
    agent_id           TEXT,
    request_id         TEXT NOT NULL,
    action             TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    delivery_deadline  INTEGER NOT NULL,
    execution_deadline INTEGER,
    delivered_at       INTEGER,
    attempts           INTEGER NOT NULL DEFAULT 0,
    result             TEXT,
    updated_at         INTEGER NOT NULL,
    doc                TEXT NOT NULL
  ) STRICT;
  CREATE INDEX commands_unfinished ON commands(seq) WHERE ${UNFINISHED_CONDITION};
  CREATE INDEX commands_status ON commands(status);
  CREATE INDEX commands_request ON commands(request_id, seq);
  CREATE INDEX commands_agent ON commands(agent_id, seq);

  -- kind 'transition': one status change of a command; kind 'refusal': a refused operator request
  -- (and, from later versions, 'job', 'membership' and 'key').
  CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL DEFAULT 'transition',
    document_id TEXT,
    from_status TEXT,
    to_status   TEXT,
    cause       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    node        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT
  ) STRICT;
  CREATE INDEX audit_document ON audit(document_id, id);
  CREATE INDEX audit_at ON audit(at);

  CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL,
    groups     TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT;

  CREATE TABLE agent_groups (
    group_name TEXT NOT NULL,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, agent_id)
  ) STRICT, WITHOUT ROWID;
  `,
  // The trail of a command is found by the command's seq, no longer by its document_id: an index on
  // a random UUID made every audit insert a random B-tree insert, about half the cost of writing a
  // transition (see docs/performance.md).
  `
  ALTER TABLE audit ADD COLUMN seq INTEGER;
  UPDATE audit SET seq = (SELECT c.seq FROM commands c WHERE c.document_id = audit.document_id);
  DROP INDEX audit_document;
  CREATE INDEX audit_command ON audit(seq, id);
  `,
  // Agent enrollment tokens (the secret as its salted hash). The CHECK keeps the use count within
  // max_uses whatever writes it; redeeming counts a use with a conditional UPDATE (see
  // sqlite-enrollment-tokens.ts). Agents get an optional name (an enrolling host gives its own).
  `
  CREATE TABLE enrollment_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    groups     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER,
    max_uses   INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER,
    CHECK (max_uses IS NULL OR uses <= max_uses)
  ) STRICT;
  ALTER TABLE agents ADD COLUMN name TEXT;
  `,
  `
  -- One row per node, rewritten to learn whether the database takes writes again after they failed.
  CREATE TABLE store_probe (node TEXT PRIMARY KEY, at INTEGER NOT NULL) STRICT;
  `,
  // Jobs (see src/jobs/): one row each, the rest of the job as JSON; their transitions are audit
  // records of kind 'job', whose document_id is the job's id.
  `
  CREATE TABLE jobs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    owner      TEXT NOT NULL,
    record     TEXT NOT NULL
  ) STRICT;
  CREATE INDEX jobs_created ON jobs(created_at, id);
  CREATE INDEX audit_job ON audit(document_id, id) WHERE kind = 'job';
  -- A job's command names its step and attempt in columns too: its job reads them back every second,
  -- those changed since its last read, from this covering index alone (job commands only). Read from
  -- the table, 10,000 rows took ~30 ms (the columns lie past each row's JSON document), and ~80 ms by
  -- JSON path.
  ALTER TABLE commands ADD COLUMN job_step INTEGER;
  ALTER TABLE commands ADD COLUMN job_attempt INTEGER;
  CREATE INDEX commands_job ON commands(request_id, updated_at, status, job_step, job_attempt, route, document_id) WHERE job_step IS NOT NULL;
  `,
  // Changes of an agent's groups are audit records of kind 'membership': the agent, its groups after
  // and before (JSON arrays); document_id and seq name the set-group command that made the change,
  // when one did (so that a key's scope and the command filters read them as the command's).
  `
  ALTER TABLE audit ADD COLUMN agent_id TEXT;
  ALTER TABLE audit ADD COLUMN groups TEXT;
  ALTER TABLE audit ADD COLUMN previous_groups TEXT;
  `,
  // The list of requests says whether a request's commands share one action and one target: the
  // request index carries both (the target as 'type:id', computed from the document when a row is
  // written), so a page reads them without parsing each command's JSON (100,000 commands: ~20 ms
  // instead of ~250 ms). Still one index per command written, as before.
  `
  ALTER TABLE commands ADD COLUMN target TEXT GENERATED ALWAYS AS (json_extract(doc, '$.command.target.type') || ':' || json_extract(doc, '$.command.target.id')) VIRTUAL;
  DROP INDEX commands_request;
  CREATE INDEX commands_request ON commands(request_id, seq, action, target);
  `,
  // Operator keys may expire, and say when they were last used; their creation and revocation are
  // audit records of kind 'key', whose document_id is the key's id.
  `
  ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
  ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
  `,
  // The request index's target is written with the row, not computed from the document: as a
  // generated column, every insert parsed the document's JSON twice for it (~22,000 instructions
  // per command, ~5 % of a command's store work under cachegrind). Rows written before are filled
  // from their documents once, here (~1.2 s per 200,000 commands, measured).
  `
  DROP INDEX commands_request;
  ALTER TABLE commands DROP COLUMN target;
  ALTER TABLE commands ADD COLUMN target TEXT;
  UPDATE commands SET target = json_extract(doc, '$.command.target.type') || ':' || json_extract(doc, '$.command.target.id');
  CREATE INDEX commands_request ON commands(request_id, seq, action, target);
  `,
  // The unfinished commands' index is made again with its condition said without an IN list (see
  // UNFINISHED_CONDITION above); a database migrated before keeps the IN list's index until then.
  `
  DROP INDEX commands_unfinished;
  CREATE INDEX commands_unfinished ON commands(seq) WHERE ${UNFINISHED_CONDITION};
  `,
];
