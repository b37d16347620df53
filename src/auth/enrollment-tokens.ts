import { randomBytes, randomUUID } from 'node:crypto';
import { parseDuration } from '../config-values.js';
import { CourierError, errors } from '../errors.js';
import { newRegistration } from './agent-registry.js';
import { unusableBecause, type EnrollmentTokenRecord, type EnrollmentTokenStore } from '../store/enrollment-token-store.js';
import { hashSecret, verifySecret } from './secret-hash.js';

/**
 * A token's life when `expires_in` is not given. Secure by default: a token forgotten in a
 * provisioning script or a ticket stops working by itself. Say `expires_in: "never"` for one that
 * lives until revoked (e.g. baked into a golden image), or any duration up to a year.
 */
export const DEFAULT_TOKEN_LIFETIME_MS = 24 * 3_600_000;
const MIN_TOKEN_LIFETIME_MS = 1000;
const MAX_TOKEN_LIFETIME_MS = 8760 * 3_600_000;
export const NEVER = 'never';

const TOKEN_FORMAT = /^courier-enroll_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export type EnrollmentTokenStatus = 'active' | 'expired' | 'exhausted' | 'revoked';

/** A token as shown to operators: never the secret nor its hash. */
export interface EnrollmentTokenView {
  id: string;
  groups: string[];
  status: EnrollmentTokenStatus;
  expires_at: string | null;
  max_uses: number | null;
  uses: number;
  created_at: string;
  created_by: string;
  revoked: boolean;
  revoked_at: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(record: EnrollmentTokenRecord, now: number): EnrollmentTokenView {
  return {
    id: record.id,
    groups: record.groups,
    status: unusableBecause(record, now) ?? 'active',
    expires_at: iso(record.expiresAt),
    max_uses: record.maxUses,
    uses: record.uses,
    created_at: new Date(record.createdAt).toISOString(),
    created_by: record.createdBy,
    revoked: record.revokedAt !== null,
    revoked_at: iso(record.revokedAt),
  };
}

/** `expires_in` as ms (null: never); the default when absent. */
export function tokenLifetime(expiresIn: string | undefined): number | null {
  if (expiresIn === undefined) return DEFAULT_TOKEN_LIFETIME_MS;
  if (expiresIn === NEVER) return null;
  let ms: number;
  try {
    ms = parseDuration(expiresIn);
  } catch (error) {
    throw errors.VALIDATION.causedBy(error, `Invalid [body.expires_in]: ${(error as Error).message}, or "never"`);
  }
  if (ms < MIN_TOKEN_LIFETIME_MS || ms > MAX_TOKEN_LIFETIME_MS) {
    throw errors.VALIDATION('Invalid [body.expires_in]: must be between 1s and 8760h (a year), or "never"');
  }
  return ms;
}

export interface NewEnrollmentToken {
  groups: string[];
  expiresIn?: string | undefined;
  maxUses?: number | undefined;
  createdBy: string;
}

/** What presenting a token came to. `tokenId` is set once the token's secret matched. */
export type Redemption =
  { enrolled: true; agent: { id: string; key: string; groups: string[] }; tokenId: string } | { enrolled: false; error: CourierError; tokenId: string | null };

/**
 * Agent enrollment tokens: `courier-enroll_<id>_<secret>`, made by an admin for some groups, with a
 * lifetime and an optional number of uses. A host that presents one gets registered in those
 * groups with a fresh key, once per use. Stored as a salted hash of the secret, shown once.
 */
export class EnrollmentTokens {
  constructor(
    private readonly store: EnrollmentTokenStore,
    private readonly now: () => number = Date.now,
  ) {}

  async create(request: NewEnrollmentToken): Promise<EnrollmentTokenView & { token: string }> {
    const lifetime = tokenLifetime(request.expiresIn);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = this.now();
    const record: EnrollmentTokenRecord = {
      id,
      tokenHash: hashSecret(secret),
      groups: request.groups,
      createdAt,
      createdBy: request.createdBy,
      expiresAt: lifetime === null ? null : createdAt + lifetime,
      maxUses: request.maxUses ?? null,
      uses: 0,
      revokedAt: null,
    };
    await this.store.addEnrollmentToken(record);
    return { ...view(record, createdAt), token: `courier-enroll_${id}_${secret}` };
  }

  /** Every token (oldest first), or those `visible` keeps. */
  async list(visible: (record: EnrollmentTokenRecord) => boolean = () => true): Promise<EnrollmentTokenView[]> {
    const now = this.now();
    return (await this.store.listEnrollmentTokens()).filter(visible).map((record) => view(record, now));
  }

  /** The stored token, or null; for checks on who may see or revoke it. */
  find(id: string): Promise<EnrollmentTokenRecord | null> {
    return this.store.getEnrollmentToken(id);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revokeEnrollmentToken(id, this.now()))) throw errors.ENROLLMENT_TOKEN_NOT_FOUND(id);
  }

  /**
   * Registers an agent with the token: under `agentId` (a new UUID when absent), in the token's
   * groups, with a generated key. Refused, with nothing registered and no use counted, when the
   * token is unknown or its secret wrong (one answer for both: ids are not secret, so the answer
   * must not tell which ids exist), expired, exhausted or revoked (said, to whoever holds the
   * secret), or when the agent id is taken (409; only an admin may register an id again).
   */
  async redeem(presented: string, agentId: string | undefined, name: string | undefined): Promise<Redemption> {
    const match = TOKEN_FORMAT.exec(presented);
    const record = match ? await this.store.getEnrollmentToken(match[1]!) : null;
    if (!match || !record || !verifySecret(match[2]!, record.tokenHash)) {
      return { enrolled: false, error: errors.INVALID_ENROLLMENT_TOKEN(), tokenId: null };
    }
    const now = this.now();
    const refused = (why: string) => ({ enrolled: false as const, error: errors.INVALID_ENROLLMENT_TOKEN(why), tokenId: record.id });
    const why = unusableBecause(record, now);
    if (why) return refused(why);

    const id = agentId ?? randomUUID();
    const { record: agent, generatedKey } = newRegistration(id, record.groups, now, { name });
    switch (await this.store.redeemEnrollmentToken(record.id, agent, now)) {
      case 'enrolled':
        return { enrolled: true, agent: { id, key: generatedKey!, groups: record.groups }, tokenId: record.id };
      case 'agent-exists':
        return { enrolled: false, error: errors.AGENT_EXISTS(id), tokenId: record.id };
      case 'token-unusable': {
        // Used up (or revoked) by others since it was read: say which, as read now.
        const current = await this.store.getEnrollmentToken(record.id);
        return refused((current && unusableBecause(current, now)) ?? 'exhausted');
      }
    }
  }
}
