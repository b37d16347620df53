import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import type { ApiKeyRecord, KeyAuditRecord, OperatorStore } from '../store/operator-store.js';
import { hashSecret, verifySecret } from './secret-hash.js';
import { RefusalReason } from './refusal-reason.js';
import { isRole, type Role } from './roles.js';
import { formatScope, isUnrestricted, parseScope, type Scope } from '../domain/scope.js';
import { keyExpiry, type ExpiryRequest } from './key-expiry.js';
import { KeyUseRecorder } from './key-use-recorder.js';

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
  status: 'active' | 'expired' | 'revoked';
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** What a new key is asked to be (the body of `POST /api/v1/keys`). */
export interface NewKeyRequest extends ExpiryRequest {
  role: string;
  scopes?: string[] | undefined;
  name?: string | undefined;
}

/** Who makes or revokes a key: its audit record's actor, and the key it used (none on the admin socket). */
export interface KeyActor {
  actor: string;
  keyId: string | null;
}

export interface ApiKeysOptions {
  now?: () => number;
  /** This node's name, in the audit records. */
  node: string;
  logger: Logger;
  /** A key's last use is written at most once per this interval (ms; default a minute). */
  lastUsedWriteIntervalMs?: number;
  /** Told after a key's audit record is stored (the live feeds show it at once). */
  onAudited?: () => void;
}

const KEY_FORMAT = /^courier_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(record: ApiKeyRecord, now: number): ApiKeyView {
  return {
    id: record.id,
    name: record.name,
    role: record.role as Role,
    scopes: record.scopes,
    status: record.revokedAt !== null ? 'revoked' : isExpired(record, now) ? 'expired' : 'active',
    created_at: iso(record.createdAt)!,
    expires_at: iso(record.expiresAt),
    last_used_at: iso(record.lastUsedAt),
    revoked_at: iso(record.revokedAt),
  };
}

function isExpired(record: Pick<ApiKeyRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt !== null && record.expiresAt <= now;
}

/** What an audit record says of a key, besides its id. */
function describeKey(record: ApiKeyRecord, by: KeyActor): string {
  const scopes = record.scopes.length > 0 ? `scopes ${record.scopes.join(' ')}` : 'no scope';
  const expiry = record.expiresAt !== null ? `expires ${iso(record.expiresAt)}` : 'no expiry';
  return `${record.role} key ${record.name}, ${scopes}, ${expiry}${by.keyId !== null ? `; by key ${by.keyId}` : ''}`;
}

/**
 * Operator API keys: `courier_<id>_<secret>`. Stored as a salted hash of the secret, shown once at
 * creation; the id part lets a key be found without scanning, and listed and revoked by id. A key
 * may expire; making and revoking one are audit records (kind `key`).
 */
export class ApiKeys {
  private readonly revokedListeners = new Set<(id: string) => void>();
  private readonly now: () => number;
  private readonly uses: KeyUseRecorder;
  private revoking: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: OperatorStore,
    private readonly options: ApiKeysOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.uses = new KeyUseRecorder({
      store,
      now: this.now,
      ...(options.lastUsedWriteIntervalMs !== undefined ? { intervalMs: options.lastUsedWriteIntervalMs } : {}),
      onError: (err, keyId) => options.logger.warn({ err, key: keyId }, "cannot record an API key's last use"),
    });
  }

  /**
   * Makes a key as asked (400 for bad input, before anything else); `authorize` checks the caller
   * may make it (it throws a refusal otherwise) and says who it is. The key is shown only here.
   */
  async create(request: NewKeyRequest, authorize: (key: { role: Role; scope: Scope }) => Promise<KeyActor>): Promise<ApiKeyView & { key: string }> {
    const { role } = request;
    if (!isRole(role)) throw errors.VALIDATION(`Unknown role "${role}": use admin, operator or auditor`);
    const scope = parseScope(request.scopes ?? []);
    const now = this.now();
    const expiresAt = keyExpiry(request, now);
    const by = await authorize({ role, scope });
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      name: request.name ?? `${role}-${id.slice(0, 6)}`,
      role,
      scopes: formatScope(scope),
      keyHash: hashSecret(secret),
      createdAt: now,
      revokedAt: null,
      expiresAt,
      lastUsedAt: null,
    };
    await this.store.addApiKey(record, this.audit(record, 'created', now, by));
    this.options.onAudited?.();
    return { ...view(record, now), key: `courier_${id}_${secret}` };
  }

  async list(): Promise<ApiKeyView[]> {
    const now = this.now();
    return (await this.store.listApiKeys()).map((record) => view(record, now));
  }

  /** The key with this id, or null. */
  async find(id: string): Promise<ApiKeyView | null> {
    const record = await this.store.getApiKey(id);
    return record ? view(record, this.now()) : null;
  }

  /**
   * Revokes a key; `authorize` sees it first (null: no such key), checks the caller may revoke it
   * (it throws a refusal otherwise) and says who it is. One revocation at a time on this node, so
   * that a check of the keys left (see the management API's policy) is not raced by another here.
   */
  async revoke(id: string, authorize: (key: ApiKeyView | null) => Promise<KeyActor>): Promise<void> {
    const turn = this.revoking.then(async () => {
      const record = await this.store.getApiKey(id);
      const by = await authorize(record ? view(record, this.now()) : null);
      const now = this.now();
      if (!record || !(await this.store.revokeApiKey(id, now, this.audit(record, 'revoked', now, by)))) throw errors.API_KEY_NOT_FOUND(id);
    });
    this.revoking = turn.catch(() => undefined);
    await turn;
    this.options.onAudited?.();
    this.uses.forget(id);
    for (const listener of this.revokedListeners) listener(id);
  }

  /** Calls `listener` with the id of each key revoked through this instance; returns the unsubscribe. */
  onRevoked(listener: (id: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Whether the key no longer holds: revoked (here or by another node sharing the store), expired, or gone. */
  async lapsed(id: string): Promise<boolean> {
    const record = await this.store.getApiKey(id);
    return record === null || record.revokedAt !== null || isExpired(record, this.now());
  }

  /**
   * The principal behind `Authorization: Bearer <key>` (or `X-API-Key`); 401 otherwise. Only the
   * holder of a key's secret learns that it expired: any other failure is the same invalid key.
   */
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
    if (isExpired(record, this.now())) throw errors.EXPIRED_API_KEY.causedBy(new RefusalReason('expired key', { keyId }));
    this.uses.used(record.id);
    return { keyId: record.id, name: record.name, role: record.role, scope: parseScope(record.scopes) };
  }

  /** Resolves when the last-use writes under way have ended (before the store closes). */
  settled(): Promise<void> {
    return this.uses.settled();
  }

  private audit(record: ApiKeyRecord, cause: KeyAuditRecord['cause'], at: number, by: KeyActor): KeyAuditRecord {
    return { key_id: record.id, cause, at, node: this.options.node, actor: by.actor, detail: describeKey(record, by) };
  }
}

/** Whether a key is an active admin key without a scope: one that can make any key. */
export function isFullAdmin(key: ApiKeyView): boolean {
  return key.status === 'active' && key.role === 'admin' && isUnrestricted(parseScope(key.scopes));
}

/** `X-API-Key`, else the bearer token of `Authorization`. */
function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  return apiKeyHeader ?? (authorization ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined);
}
