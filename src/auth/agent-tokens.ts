import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tightenIfPresent } from '../data-dir.js';
import { join } from 'node:path';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { CourierError, errors } from '../errors.js';

/**
 * Agent tokens, as the Wazuh Communications API issues them: JWT, RS256, issuer `wazuh`,
 * audience `Wazuh Communications API`, lifetime exactly 900 s, the agent id in `uuid` (and `sub`).
 * Courier adds `reg`, a fingerprint of the registration the token was issued for, so that a token
 * dies with its registration (agent removed, or removed and registered again with a new key).
 * The signing key is generated on first start and kept in the data directory (mode 0600).
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
  if (typeof jwk !== 'object' || jwk === null || (jwk as JWK).kty !== 'RSA' || typeof (jwk as JWK).d !== 'string') {
    throw errors.CORRUPT_FILE(file, 'not an RSA private key in JWK form', SIGNING_KEY_REMEDY);
  }
  return jwk;
}

export class AgentTokens {
  private constructor(
    private readonly privateKey: KeyLike,
    private readonly publicKey: KeyLike,
    private readonly now: () => number,
    private readonly lifetimeS: number,
  ) {}

  /** `lifetimeS` other than 900 is for tests only: Wazuh agents expect exactly 900 s. */
  static async load(dataDir: string, now: () => number = Date.now, lifetimeS = TOKEN_LIFETIME_S): Promise<AgentTokens> {
    const file = join(dataDir, SIGNING_KEY_FILE);
    let jwk: JWK;
    if (existsSync(file)) {
      tightenIfPresent(file);
      jwk = parseSigningKey(file, readFileSync(file, 'utf8'));
    } else {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      jwk = await exportJWK(privateKey);
      // Written whole or not at all: a crash while writing must not leave a half key behind.
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
      renameSync(partial, file);
    }
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    try {
      return new AgentTokens(await importJWK(jwk, ALG), await importJWK(publicJwk, ALG), now, lifetimeS);
    } catch (error) {
      throw errors.CORRUPT_FILE.causedBy(error, file, `not an RSA private key: ${(error as Error).message}`, SIGNING_KEY_REMEDY);
    }
  }

  async issue(agentId: string, registration: string): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ uuid: agentId, reg: registration })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(agentId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.lifetimeS)
      .sign(this.privateKey);
  }

  /** The claims of a valid token; a 403 (invalid) or 401 (expired) error otherwise. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
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
