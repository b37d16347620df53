import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { errors } from '../errors.js';

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
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

export class AgentTokens {
  private constructor(
    private readonly privateKey: KeyLike,
    private readonly publicKey: KeyLike,
    private readonly now: () => number,
  ) {}

  static async load(dataDir: string, now: () => number = Date.now): Promise<AgentTokens> {
    const file = join(dataDir, 'jwt-signing-key.json');
    let jwk: JWK;
    if (existsSync(file)) {
      jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    } else {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      jwk = await exportJWK(privateKey);
      writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
      chmodSync(file, 0o600);
    }
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    return new AgentTokens(await importJWK(jwk, ALG), await importJWK(publicJwk, ALG), now);
  }

  async issue(agentId: string, registration: string): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ uuid: agentId, reg: registration })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(agentId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + TOKEN_LIFETIME_S)
      .sign(this.privateKey);
  }

  /** The claims of a valid token; a 403 error (invalid or expired) otherwise. */
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
      return { agentId: payload.uuid, registration: typeof reg === 'string' ? reg : null };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw errors.EXPIRED_TOKEN();
      throw errors.INVALID_TOKEN();
    }
  }

  /** Reads `Authorization: Bearer <token>` and verifies it. */
  async verifyHeader(header: string | undefined): Promise<TokenClaims> {
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw errors.MISSING_TOKEN();
    return this.verify(match[1]!);
  }
}
