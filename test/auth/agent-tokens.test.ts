import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import { AgentTokens, TOKEN_AUDIENCE, TOKEN_ISSUER, TOKEN_LIFETIME_S } from '../../src/auth/agent-tokens.js';
import { CourierError } from '../../src/errors.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-tokens-'));
  dirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** An expired token is 401 (the agent authenticates again); any other bad token 403. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CourierError, `expected a CourierError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.statusCode, code === 'COURIER_ERR_EXPIRED_TOKEN' ? 401 : 403);
    return true;
  });
}

/** A clock the test moves by hand. */
function clock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('agent tokens', () => {
  let dir: string;
  let tokens: AgentTokens;
  const time = clock();

  before(async () => {
    dir = tempDir();
    tokens = await AgentTokens.load(dir, time.now);
  });

  test('issue then verify gives back the agent id and the registration it was issued for', async () => {
    const token = await tokens.issue('agent-1', 'reg-agent-1');
    const claims = { agentId: 'agent-1', registration: 'reg-agent-1', expiresAt: (Math.floor(time.t / 1000) + 900) * 1000 };
    assert.deepEqual(await tokens.verify(token), claims);
    assert.deepEqual(await tokens.verifyHeader(`Bearer ${token}`), claims);
    assert.deepEqual(await tokens.verifyHeader(`bearer ${token}`), claims);
  });

  test('claims: RS256 JWT, iss wazuh, aud the Communications API, uuid and sub the agent, 900 s', async () => {
    const token = await tokens.issue('0d5ae8d5-a4ab-4b0d-8bc2-43e38d0e53d7', 'reg-0d5ae8d5-a4ab-4b0d-8bc2-43e38d0e53d7');
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    assert.equal(claims.iss, 'wazuh');
    assert.equal(TOKEN_ISSUER, 'wazuh');
    assert.equal(claims.aud, 'Wazuh Communications API');
    assert.equal(TOKEN_AUDIENCE, 'Wazuh Communications API');
    assert.equal(claims.uuid, '0d5ae8d5-a4ab-4b0d-8bc2-43e38d0e53d7');
    assert.equal(claims.sub, '0d5ae8d5-a4ab-4b0d-8bc2-43e38d0e53d7');
    assert.equal(claims.reg, 'reg-0d5ae8d5-a4ab-4b0d-8bc2-43e38d0e53d7');
    assert.equal(claims.iat, Math.floor(time.t / 1000));
    assert.equal(TOKEN_LIFETIME_S, 900);
    assert.equal(claims.exp! - claims.iat, 900);
  });

  test('valid until its lifetime ends, then COURIER_ERR_EXPIRED_TOKEN', async () => {
    const c = clock(Date.parse('2031-06-01T12:00:00.000Z'));
    const own = await AgentTokens.load(dir, c.now);
    const token = await own.issue('agent-2', 'reg-agent-2');
    c.t += 899_000;
    const claims = await own.verify(token);
    assert.equal(claims.agentId, 'agent-2');
    assert.equal(own.remainingMs(claims), 1_000, 'what is left of it, for the streams it opens');
    c.t += 2_000;
    await rejectsWith(own.verify(token), 'COURIER_ERR_EXPIRED_TOKEN');
    await rejectsWith(own.verifyHeader(`Bearer ${token}`), 'COURIER_ERR_EXPIRED_TOKEN');
    c.t += 86_400_000;
    await rejectsWith(own.verify(token), 'COURIER_ERR_EXPIRED_TOKEN');
  });

  test('the signing key file is created with mode 0600, as a private JWK', () => {
    const file = join(dir, 'jwt-signing-key.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    assert.equal(jwk.kty, 'RSA');
    assert.ok(jwk.d, 'the private part is kept');
  });

  test('the key file is reused on the next load: tokens stay valid across restarts', async () => {
    const file = join(dir, 'jwt-signing-key.json');
    const content = readFileSync(file, 'utf8');
    const first = await tokens.issue('agent-3', 'reg-agent-3');
    const reloaded = await AgentTokens.load(dir, time.now);
    assert.equal(readFileSync(file, 'utf8'), content, 'the key file was rewritten');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await reloaded.verify(first)).agentId, 'agent-3');
    assert.equal((await tokens.verify(await reloaded.issue('agent-4', 'reg-agent-4'))).agentId, 'agent-4');
  });

  test('another data dir has another key: its tokens are refused', async () => {
    const other = await AgentTokens.load(tempDir(), time.now);
    await rejectsWith(tokens.verify(await other.issue('agent-1', 'reg-agent-1')), 'COURIER_ERR_INVALID_TOKEN');
    await rejectsWith(other.verify(await tokens.issue('agent-1', 'reg-agent-1')), 'COURIER_ERR_INVALID_TOKEN');
  });

  test('tokens signed by the right key with wrong claims are refused', async () => {
    const key = await importJWK(JSON.parse(readFileSync(join(dir, 'jwt-signing-key.json'), 'utf8')) as JWK, 'RS256');
    const iat = Math.floor(time.t / 1000);
    const make = (claims: Record<string, unknown>, iss = TOKEN_ISSUER, aud = TOKEN_AUDIENCE) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 900)
        .sign(key);
    const expiresAt = (iat + 900) * 1000;
    assert.deepEqual(await tokens.verify(await make({ uuid: 'agent-5', reg: 'r' })), { agentId: 'agent-5', registration: 'r', expiresAt }, 'control: right claims pass');
    // Without `reg` the token is valid as such; the agents API refuses it (no registration matches null).
    assert.deepEqual(await tokens.verify(await make({ uuid: 'agent-5' })), { agentId: 'agent-5', registration: null, expiresAt });
    await rejectsWith(tokens.verify(await make({ uuid: 'agent-5', reg: 7 })), 'COURIER_ERR_INVALID_TOKEN');
    await rejectsWith(tokens.verify(await make({ uuid: 'agent-5' }, 'someone')), 'COURIER_ERR_INVALID_TOKEN');
    await rejectsWith(tokens.verify(await make({ uuid: 'agent-5' }, TOKEN_ISSUER, 'Another API')), 'COURIER_ERR_INVALID_TOKEN');
    await rejectsWith(tokens.verify(await make({ sub: 'agent-5' })), 'COURIER_ERR_INVALID_TOKEN');
    await rejectsWith(tokens.verify(await make({ uuid: '' })), 'COURIER_ERR_INVALID_TOKEN');
    await rejectsWith(tokens.verify(await make({ uuid: 42 })), 'COURIER_ERR_INVALID_TOKEN');
  });

  test('garbage and tampered tokens are COURIER_ERR_INVALID_TOKEN', async () => {
    const token = await tokens.issue('agent-6', 'reg-agent-6');
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), uuid: 'agent-admin' })).toString('base64url');
    for (const bad of ['', 'garbage', 'a.b.c', `${h}.${forged}.${s}`, `${h}.${p}.${s.slice(0, -4)}AAAA`, `${h}.${p}.`, `eyJhbGciOiJub25lIn0.${p}.`]) {
      await rejectsWith(tokens.verify(bad), 'COURIER_ERR_INVALID_TOKEN');
    }
  });

  test('a missing or non-Bearer Authorization header is COURIER_ERR_MISSING_TOKEN', async () => {
    const token = await tokens.issue('agent-7', 'reg-agent-7');
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${token}`, token, `Bearer ${token} extra`]) {
      await rejectsWith(tokens.verifyHeader(header), 'COURIER_ERR_MISSING_TOKEN');
    }
  });
});
