import type Database from 'better-sqlite3';
import type { EnrollmentTokenRecord, EnrollmentTokenStore, RedeemOutcome } from '../enrollment-token-store.js';
import type { AgentRecord } from '../records.js';
import { toStoreFailure } from './failures.js';

interface TokenRow {
  id: string;
  token_hash: string;
  groups: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  revoked_at: number | null;
}

function rowToToken(row: TokenRow): EnrollmentTokenRecord {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    groups: JSON.parse(row.groups) as string[],
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    maxUses: row.max_uses,
    uses: row.uses,
    revokedAt: row.revoked_at,
  };
}

/** Thrown inside the redeeming transaction to undo the use it counted. */
class AgentExists extends Error {}

/**
 * Enrollment tokens in the embedded store. Redeeming is one transaction: a conditional UPDATE
 * counts the use only while the token is unrevoked, unexpired and under `max_uses`, and the agent
 * is inserted in the same transaction (undone, use and all, if its id is taken).
 */
export class SqliteEnrollmentTokens implements EnrollmentTokenStore {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    /** Inserts an agent (in the caller's transaction); false when its id is taken. */
    private readonly insertAgent: (agent: AgentRecord) => boolean,
  ) {
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO enrollment_tokens (id, token_hash, groups, created_at, created_by, expires_at, max_uses, uses, revoked_at)
         VALUES (@id, @tokenHash, @groups, @createdAt, @createdBy, @expiresAt, @maxUses, @uses, @revokedAt)`,
      ),
      get: db.prepare(`SELECT * FROM enrollment_tokens WHERE id = ?`),
      list: db.prepare(`SELECT * FROM enrollment_tokens ORDER BY created_at, id`),
      revoke: db.prepare(`UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
      use: db.prepare(
        `UPDATE enrollment_tokens SET uses = uses + 1
         WHERE id = @id AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now) AND (max_uses IS NULL OR uses < max_uses)`,
      ),
    };
  }

  async addEnrollmentToken(record: EnrollmentTokenRecord): Promise<void> {
    this.stmt.insert.run({ ...record, groups: JSON.stringify(record.groups) });
  }

  async getEnrollmentToken(id: string): Promise<EnrollmentTokenRecord | null> {
    const row = this.stmt.get.get(id) as TokenRow | undefined;
    return row ? rowToToken(row) : null;
  }

  async listEnrollmentTokens(): Promise<EnrollmentTokenRecord[]> {
    return (this.stmt.list.all() as TokenRow[]).map(rowToToken);
  }

  async revokeEnrollmentToken(id: string, at: number): Promise<boolean> {
    return this.stmt.revoke.run(at, id).changes === 1;
  }

  async redeemEnrollmentToken(id: string, agent: AgentRecord, now: number): Promise<RedeemOutcome> {
    try {
      return this.redeem(id, agent, now);
    } catch (error) {
      if (error instanceof AgentExists) return 'agent-exists';
      throw toStoreFailure(error);
    }
  }

  private readonly redeem = (id: string, agent: AgentRecord, now: number): RedeemOutcome =>
    this.db.transaction((): RedeemOutcome => {
      if (this.stmt.use.run({ id, now }).changes !== 1) return 'token-unusable';
      if (!this.insertAgent(agent)) throw new AgentExists();
      return 'enrolled';
    })();
}
