import { existsSync, readFileSync } from 'node:fs';
import { tightenIfPresent, writePrivateFile } from '../data-dir.js';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { CourierError, errors } from '../errors.js';
import { RefusalReason } from './refusal-reason.js';

/**
 * Agent tokens, as the Wazuh Communications API issues them: JWT, RS256, issuer `wazuh`,
 * audience `Wazuh Communications API`, lifetime exactly 900 s, the agent id in `uuid` (and `sub`).
 * Courier adds `reg`, a fingerprint of the registration the token was issued for, so that a token
 * dies with its registration (agent removed, or removed and registered again with a new key).
 * The signing key is generated on first start and kept in the data directory (mode 0600); a
 * cluster's nodes share a key set file instead (`--token-keys`), so that a token holds on every
 * node. Tokens name their key (`kid`): during a rollover two keys verify, the first signs.
 */
export const TOKEN_ISSUER = 'wazuh';
export const TOKEN_AUDIENCE = 'Wazuh Communications API';
export const TOKEN_LIFETIME_S = 900;
const ALG = 'RS256';

/** What a valid token says: whose it is, and for which registration of that agent. */
export interface TokenClaims {
  agentId: string;
  /** The `reg` claim; null in a token without one (never issued by this version). */
  registration: string | null;
  /** When it expires (`exp`), ms since the epoch: an open stream it opened ends then. */
  expiresAt: number;
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

const SIGNING_KEY_FILE = 'jwt-signing-key.json';
const SIGNING_KEY_REMEDY =
  'restore it from a backup, or delete it to have a new key made on the next start (agents then authenticate again: tokens signed with the old key are refused)';

/** The JWK in the key file, or an error that names the file and what to do about it. */
function parseSigningKey(file: string, text: string): JWK {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch (error) {
    throw errors.CORRUPT_FILE.causedBy(error, file, `not JSON: ${(error as Error).message}`, SIGNING_KEY_REMEDY);
  }
  if (!isRsaPrivateJwk(jwk)) throw errors.CORRUPT_FILE(file, 'not an RSA private key in JWK form', SIGNING_KEY_REMEDY);
  return jwk;
}

function isRsaPrivateJwk(jwk: unknown): jwk is JWK {
  return typeof jwk === 'object' && jwk !== null && (jwk as JWK).kty === 'RSA' && typeof (jwk as JWK).d === 'string';
}

/** The public half of an RSA private JWK (what verifies, and what its id is computed from). */
function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, kid: _kid, ...publicJwk } = jwk;
  return publicJwk;
}

/** One signing key of the set: its id (`kid`, the RFC 7638 thumbprint of its public key) and both halves. */
interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
}

/** Both halves of an RSA private JWK, and its id; `where` names the file for errors. */
async function signingKey(jwk: JWK, where: string, remedy: string): Promise<SigningKey> {
  const publicJwk = publicPart(jwk);
  try {
    return { kid: await calculateJwkThumbprint(publicJwk), privateKey: await importJWK(jwk, ALG), publicKey: await importJWK(publicJwk, ALG) };
  } catch (error) {
    throw errors.CORRUPT_FILE.causedBy(error, where, `not an RSA private key: ${(error as Error).message}`, remedy);
  }
}

/** The keys of a key set file (`{"keys":[JWK, …]}`, the first signs), or an error naming the file. */
export function parseKeySet(file: string, text: string): JWK[] {
  let set: unknown;
  try {
    set = JSON.parse(text);
  } catch (error) {
    throw errors.CORRUPT_FILE.causedBy(error, file, `not JSON: ${(error as Error).message}`, KEY_SET_REMEDY);
  }
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw errors.CORRUPT_FILE(file, 'not a key set ({"keys":[…]}, at least one key)', KEY_SET_REMEDY);
  if (!keys.every(isRsaPrivateJwk)) throw errors.CORRUPT_FILE(file, 'a key is not an RSA private key in JWK form', KEY_SET_REMEDY);
  return keys;
}

const KEY_SET_REMEDY = 'make it again with `courier token-keys rotate --file <file>`';

/** A new RSA signing key, as a private JWK carrying its `kid`. */
export async function newSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(publicPart(jwk)) };
}

/** Where the signing keys come from: the data directory (one node), or a key set file every node of a cluster shares. */
export type TokenKeySource = { dataDir: string } | { keySetFile: string };

export class AgentTokens {
  /** When the key set file was last read because a token named a key not in it (at most once a second). */
  private lastUnknownKidReload = 0;

  private constructor(
    /** The first signs; every one verifies (two during a rollover). */
    private keys: SigningKey[],
    private readonly source: TokenKeySource,
    private readonly now: () => number,
    private readonly lifetimeS: number,
  ) {}

  /**
   * `source`: the data directory's own key (made on first start), or a key set file shared by
   * every node (tokens then hold on any of them). `lifetimeS` other than 900 is for tests only:
   * Wazuh agents expect exactly 900 s.
   */
  static async load(source: string | TokenKeySource, now: () => number = Date.now, lifetimeS = TOKEN_LIFETIME_S): Promise<AgentTokens> {
    const from = typeof source === 'string' ? { dataDir: source } : source;
    return new AgentTokens(await readKeys(from), from, now, lifetimeS);
  }

  /** The ids of the keys, the signing one first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.kid);
  }

  /** Reads the key set file again (SIGHUP, or a token signed by a key not known yet); the keys stay as they were if it cannot be used. */
  async reload(): Promise<void> {
    if ('keySetFile' in this.source) this.keys = await readKeys(this.source);
  }

  async issue(agentId: string, registration: string): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    const signing = this.keys[0]!;
    return new SignJWT({ uuid: agentId, reg: registration })
      .setProtectedHeader({ alg: ALG, typ: 'JWT', kid: signing.kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(agentId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.lifetimeS)
      .sign(signing.privateKey);
  }

  /** The claims of a valid token; a 403 (invalid) or 401 (expired) error otherwise. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, await this.verifyingKey(token), {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: [ALG],
        currentDate: new Date(this.now()),
      });
      if (typeof payload.uuid !== 'string' || payload.uuid === '') throw errors.INVALID_TOKEN();
      const reg = payload.reg;
      if (reg !== undefined && typeof reg !== 'string') throw errors.INVALID_TOKEN();
      if (typeof payload.exp !== 'number') throw errors.INVALID_TOKEN();
      return { agentId: payload.uuid, registration: typeof reg === 'string' ? reg : null, expiresAt: payload.exp * 1000 };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw errors.EXPIRED_TOKEN.causedBy(error);
      if (error instanceof CourierError) throw error;
      throw errors.INVALID_TOKEN.causedBy(error);
    }
  }

  /**
   * The key a token names (`kid`); a token without one (issued before keys had ids) is checked with
   * the signing key. A key not in the set sends courier to read the key set file again first: another
   * node may sign with a key just added to it.
   */
  private async verifyingKey(token: string): Promise<KeyLike> {
    const { kid } = decodeProtectedHeader(token);
    if (kid === undefined) return this.keys[0]!.publicKey;
    let key = this.keys.find((k) => k.kid === kid);
    if (!key && 'keySetFile' in this.source && this.now() - this.lastUnknownKidReload >= 1000) {
      this.lastUnknownKidReload = this.now();
      await this.reload().catch(() => {});
      key = this.keys.find((k) => k.kid === kid);
    }
    if (!key) throw errors.INVALID_TOKEN.causedBy(new RefusalReason('signed by a key not in the key set'));
    return key.publicKey;
  }

  /** How long a token with these claims still holds (ms; 0 or less: expired). */
  remainingMs(claims: Pick<TokenClaims, 'expiresAt'>): number {
    return claims.expiresAt - this.now();
  }

  /** Reads `Authorization: Bearer <token>` and verifies it. */
  async verifyHeader(header: string | undefined): Promise<TokenClaims> {
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw errors.MISSING_TOKEN();
    return this.verify(match[1]!);
  }
}

/** The signing keys of a source: the data directory's key (made on first start) or the key set file's. */
async function readKeys(source: TokenKeySource): Promise<SigningKey[]> {
  if ('keySetFile' in source) {
    const file = source.keySetFile;
    if (!existsSync(file)) throw errors.CORRUPT_FILE(file, 'no such file', KEY_SET_REMEDY);
    tightenIfPresent(file);
    return Promise.all(parseKeySet(file, readFileSync(file, 'utf8')).map((jwk) => signingKey(jwk, file, KEY_SET_REMEDY)));
  }
  const file = join(source.dataDir, SIGNING_KEY_FILE);
  let jwk: JWK;
  if (existsSync(file)) {
    tightenIfPresent(file);
    jwk = parseSigningKey(file, readFileSync(file, 'utf8'));
  } else {
    jwk = await newSigningJwk();
    writePrivateFile(file, JSON.stringify(jwk));
  }
  return [await signingKey(jwk, file, SIGNING_KEY_REMEDY)];
}
