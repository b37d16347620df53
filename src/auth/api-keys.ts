import { randomBytes } from 'node:crypto';
import { errors } from '../errors.js';
import type { ApiKeyRecord, OperatorStore } from '../store/operator-store.js';
import { hashSecret, verifySecret } from './secret-hash.js';
import { RefusalReason } from './refusal-reason.js';
import { isRole, type Role } from './roles.js';
import { formatScope, parseScope, type Scope } from '../domain/scope.js';

/** Who is calling the management API, as its key says. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
  scope: Scope;
}

/** A key as shown to operators: never the secret nor its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
}

const KEY_FORMAT = /^courier_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

function view(record: ApiKeyRecord): ApiKeyView {
  return {
    id: record.id,
    name: record.name,
    role: record.role as Role,
    scopes: record.scopes,
    created_at: new Date(record.createdAt).toISOString(),
    revoked_at: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
  };
}

/**
 * Operator API keys: `courier_<id>_<secret>`. Stored as a salted hash of the secret, shown once at
 * creation; the id part lets a key be found without scanning, and listed and revoked by id.
 */
export class ApiKeys {
  private readonly revokedListeners = new Set<(id: string) => void>();

  constructor(
    private readonly store: OperatorStore,
    private readonly now: () => number = Date.now,
  ) {}

  async create(role: string, scopes: string[], name?: string): Promise<ApiKeyView & { key: string }> {
    if (!isRole(role)) throw errors.VALIDATION(`Unknown role "${role}": use admin, operator or auditor`);
    const normalized = formatScope(parseScope(scopes));
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      name: name ?? `${role}-${id.slice(0, 6)}`,
      role,
      scopes: normalized,
      keyHash: hashSecret(secret),
      createdAt: this.now(),
      revokedAt: null,
    };
    await this.store.addApiKey(record);
    return { ...view(record), key: `courier_${id}_${secret}` };
  }

  async list(): Promise<ApiKeyView[]> {
    return (await this.store.listApiKeys()).map(view);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revokeApiKey(id, this.now()))) throw errors.API_KEY_NOT_FOUND(id);
    for (const listener of this.revokedListeners) listener(id);
  }

  /** Calls `listener` with the id of each key revoked through this instance; returns the unsubscribe. */
  onRevoked(listener: (id: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Whether the key no longer holds (revoked, here or by another node sharing the store, or gone). */
  async isRevoked(id: string): Promise<boolean> {
    const record = await this.store.getApiKey(id);
    return record === null || record.revokedAt !== null;
  }

  /** The principal behind `Authorization: Bearer <key>` (or `X-API-Key`); 401 otherwise. */
  async authenticate(authorization: string | undefined, apiKeyHeader: string | undefined): Promise<Principal> {
    const presented = presentedKey(authorization, apiKeyHeader);
    if (!presented) throw errors.MISSING_API_KEY();
    const match = KEY_FORMAT.exec(presented);
    if (!match) throw errors.INVALID_API_KEY.causedBy(new RefusalReason('not in the format of an API key'));
    const keyId = match[1]!;
    const refused = (reason: string) => errors.INVALID_API_KEY.causedBy(new RefusalReason(reason, { keyId }));
    const record = await this.store.getApiKey(keyId);
    if (!record) throw refused('unknown key');
    if (record.revokedAt !== null) throw refused('revoked key');
    if (!verifySecret(match[2]!, record.keyHash)) throw refused('wrong secret');
    if (!isRole(record.role)) throw refused(`unknown role ${record.role}`);
    return { keyId: record.id, name: record.name, role: record.role, scope: parseScope(record.scopes) };
  }
}

/** `X-API-Key`, else the bearer token of `Authorization`. */
function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  return apiKeyHeader ?? (authorization ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined);
}
