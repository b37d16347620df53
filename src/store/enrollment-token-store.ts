import type { AgentRecord } from './records.js';

/** An agent enrollment token as stored: the secret only as its salted hash. */
export interface EnrollmentTokenRecord {
  id: string;
  tokenHash: string;
  /** The groups every agent enrolled with it joins. */
  groups: string[];
  createdAt: number;
  /** Who made it: `admin-socket`, or `key:<name>` on the management API. */
  createdBy: string;
  /** ms since epoch; null: it does not expire. */
  expiresAt: number | null;
  /** null: no limit. */
  maxUses: number | null;
  /** Agents enrolled with it so far. */
  uses: number;
  revokedAt: number | null;
}

/** Why a stored token no longer enrolls anyone at `now`; null while it does. */
export function unusableBecause(token: EnrollmentTokenRecord, now: number): 'revoked' | 'expired' | 'exhausted' | null {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && now >= token.expiresAt) return 'expired';
  if (token.maxUses !== null && token.uses >= token.maxUses) return 'exhausted';
  return null;
}

/** What redeeming a token came to: nothing at all is written unless `enrolled`. */
export type RedeemOutcome = 'enrolled' | 'token-unusable' | 'agent-exists';

/** Enrollment tokens in a store (both adapters implement it). */
export interface EnrollmentTokenStore {
  addEnrollmentToken(record: EnrollmentTokenRecord): Promise<void>;
  getEnrollmentToken(id: string): Promise<EnrollmentTokenRecord | null>;
  listEnrollmentTokens(): Promise<EnrollmentTokenRecord[]>;
  /** False when there is no such token, or it was revoked already. */
  revokeEnrollmentToken(id: string, at: number): Promise<boolean>;
  /**
   * One use of the token and the agent's registration, both or neither: the use is counted only if
   * the token is still usable at `now` (never past `maxUses`, however many redeem it at once), and the
   * agent is registered only if its id is free.
   */
  redeemEnrollmentToken(id: string, agent: AgentRecord, now: number): Promise<RedeemOutcome>;
}
