import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import { errors } from '../../errors.js';
import { unusableBecause, type EnrollmentTokenRecord, type EnrollmentTokenStore, type RedeemOutcome } from '../enrollment-token-store.js';
import type { AgentRecord } from '../records.js';
import type { AgentDirectory } from './agent-directory.js';
import { isStatus, toCourierError } from './failures.js';
import { searchAll, type Hit } from './search.js';
import type { DocVersion } from './version-book.js';

interface TokenSource {
  id: string;
  token_hash: string;
  groups: string[];
  created_at: number;
  created_by: string;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  revoked_at: number | null;
}

function toRecord(s: TokenSource): EnrollmentTokenRecord {
  return {
    id: s.id,
    tokenHash: s.token_hash,
    groups: s.groups ?? [],
    createdAt: s.created_at,
    createdBy: s.created_by,
    expiresAt: s.expires_at ?? null,
    maxUses: s.max_uses ?? null,
    uses: s.uses ?? 0,
    revokedAt: s.revoked_at ?? null,
  };
}

function toSource(r: EnrollmentTokenRecord): TokenSource {
  return {
    id: r.id,
    token_hash: r.tokenHash,
    groups: r.groups,
    created_at: r.createdAt,
    created_by: r.createdBy,
    expires_at: r.expiresAt,
    max_uses: r.maxUses,
    uses: r.uses,
    revoked_at: r.revokedAt,
  };
}

/** A token as read, with the version its next write is conditioned on. */
interface Versioned {
  record: EnrollmentTokenRecord;
  version: DocVersion;
}

/**
 * Writes of one token by several enrollments (on any node) at once each lose to another at most
 * once per round; this many rounds, with a short random pause between them, is plenty for the
 * largest wave of hosts enrolling together; past it the enrollment is answered 503 (retry).
 */
const MAX_ATTEMPTS = 50;

/**
 * Enrollment tokens in `courier-enrollment-tokens`, one document per token. A use is counted by
 * writing the token back on the version it was read at (`if_seq_no` + `if_primary_term`): of two
 * enrollments that read the same count, one write is refused (409), and that one reads again and
 * checks again, so the count never passes `max_uses`. The agent is registered after its use was
 * counted (`op_type: create`); if its id turns out to be taken, the use is given back the same way.
 */
export class OpenSearchEnrollmentTokens implements EnrollmentTokenStore {
  constructor(
    private readonly client: Client,
    private readonly index: string,
    private readonly agents: AgentDirectory,
    private readonly logger: Logger,
  ) {}

  async addEnrollmentToken(record: EnrollmentTokenRecord): Promise<void> {
    try {
      await this.client.index({ index: this.index, id: record.id, op_type: 'create', body: toSource(record) });
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async getEnrollmentToken(id: string): Promise<EnrollmentTokenRecord | null> {
    return (await this.read(id))?.record ?? null;
  }

  async listEnrollmentTokens(): Promise<EnrollmentTokenRecord[]> {
    const tokens: EnrollmentTokenRecord[] = [];
    try {
      await this.client.indices.refresh({ index: this.index });
      const pages = searchAll<TokenSource>(this.client, this.index, { match_all: {} }, 1000, [{ created_at: 'asc' }, { id: 'asc' }]);
      for await (const hits of pages) tokens.push(...hits.map((h) => toRecord(h._source)));
    } catch (error) {
      throw toCourierError(error);
    }
    return tokens;
  }

  async revokeEnrollmentToken(id: string, at: number): Promise<boolean> {
    return this.update(id, (record) => (record.revokedAt === null ? { ...record, revokedAt: at } : null));
  }

  async redeemEnrollmentToken(id: string, agent: AgentRecord, now: number): Promise<RedeemOutcome> {
    let checkedAgent = false;
    let agentTaken = false;
    const counted = await this.update(id, async (record) => {
      if (unusableBecause(record, now) !== null) return null;
      // Once, before counting a use: most attempts on a taken id then need no use given back.
      if (!checkedAgent) {
        checkedAgent = true;
        agentTaken = (await this.agents.get(agent.id)) !== null;
      }
      return agentTaken ? null : { ...record, uses: record.uses + 1 };
    });
    if (!counted) return agentTaken ? 'agent-exists' : 'token-unusable';
    let added: boolean;
    try {
      added = await this.agents.add(agent);
    } catch (error) {
      await this.giveBack(id);
      throw error;
    }
    if (added) return 'enrolled';
    await this.giveBack(id);
    return 'agent-exists';
  }

  /** Undoes a counted use whose enrollment registered nothing. */
  private async giveBack(id: string): Promise<void> {
    try {
      await this.update(id, (record) => (record.uses > 0 ? { ...record, uses: record.uses - 1 } : null));
    } catch (err) {
      // The count stays one too high: fewer enrollments than allowed, never more.
      this.logger.warn({ err, token: id }, 'an enrollment token use that registered nothing could not be given back');
    }
  }

  /**
   * Reads the token, asks `change` what it should become (null: leave it), and writes that on the
   * version read; a write refused because another came first starts over. True when written; false
   * when the token is missing or `change` left it.
   */
  private async update(id: string, change: (record: EnrollmentTokenRecord) => EnrollmentTokenRecord | null | Promise<EnrollmentTokenRecord | null>): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.read(id);
      if (!current) return false;
      const next = await change(current.record);
      if (!next) return false;
      try {
        await this.client.index({
          index: this.index,
          id,
          if_seq_no: current.version.seqNo,
          if_primary_term: current.version.primaryTerm,
          body: toSource(next),
        });
        return true;
      } catch (error) {
        if (!isStatus(error, 409)) throw toCourierError(error);
      }
      await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
    }
    throw errors.STORE_UNAVAILABLE(`enrollment token ${id} is being written by too many at once; try again`);
  }

  private async read(id: string): Promise<Versioned | null> {
    try {
      const res = await this.client.get({ index: this.index, id });
      const body = res.body as unknown as Hit<TokenSource>;
      return { record: toRecord(body._source), version: { seqNo: body._seq_no, primaryTerm: body._primary_term } };
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw toCourierError(error);
    }
  }
}
