import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import { AgentTokens, TOKEN_AUDIENCE, TOKEN_ISSUER, TOKEN_LIFETIME_S } from '../../src/auth/agent-tokens.js';
import { CourierError } from '../../src/errors.js';
import { rotateKeySet } from '../../src/cli/token-keys-command.js';

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
    // Wazuh's header, and the id of the key that signed it (agents do not read it; courier's nodes do).
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', typ: 'JWT', kid: tokens.keyIds[0] });
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

describe('agent tokens: a key set shared by the nodes of a cluster (--token-keys)', () => {
  const time = clock();
  let file: string;
  before(async () => {
    file = join(tempDir(), 'token-keys.json');
    await rotateKeySet(file);
  });
  const node = () => AgentTokens.load({ keySetFile: file }, time.now);

  test('the rotate command writes a key set (mode 0600) whose first key signs; a token names its key (kid)', async () => {
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const set = JSON.parse(readFileSync(file, 'utf8')) as { keys: JWK[] };
    assert.equal(set.keys.length, 1);
    const tokens = await node();
    assert.deepEqual(tokens.keyIds, [set.keys[0]!.kid]);
    assert.equal(decodeProtectedHeader(await tokens.issue('agent-k1', 'reg')).kid, set.keys[0]!.kid);
  });

  test('a token issued by one node holds on another node with the same file, not on a node with its own key', async () => {
    const a = await node();
    const b = await node();
    const token = await a.issue('agent-k2', 'reg-k2');
    assert.equal((await b.verify(token)).agentId, 'agent-k2');
    const loner = await AgentTokens.load(tempDir(), time.now);
    await rejectsWith(loner.verify(token), 'COURIER_ERR_INVALID_TOKEN');
  });

  test('a rollover: after a rotation the new key signs and tokens of the previous one stay valid; the next rotation retires it', async () => {
    const a = await node();
    const b = await node();
    const before = await a.issue('agent-k3', 'reg');
    const [first] = a.keyIds;
    await rotateKeySet(file);
    await a.reload();
    assert.equal(a.keyIds.length, 2);
    assert.equal(a.keyIds[1], first, 'the previous key verifies');
    const after = await a.issue('agent-k3', 'reg');
    assert.notEqual(decodeProtectedHeader(after).kid, first);
    // b was not told (no SIGHUP yet): a token naming a key it does not know makes it read the file.
    assert.equal((await b.verify(after)).agentId, 'agent-k3');
    assert.equal((await b.verify(before)).agentId, 'agent-k3');
    await rotateKeySet(file);
    await b.reload();
    await rejectsWith(b.verify(before), 'COURIER_ERR_INVALID_TOKEN');
    assert.equal((await b.verify(after)).agentId, 'agent-k3');
  });

  test('a token without a kid (issued before keys had ids) is checked with the signing key', async () => {
    const dir = tempDir();
    const tokens = await AgentTokens.load(dir, time.now);
    const key = await importJWK(JSON.parse(readFileSync(join(dir, 'jwt-signing-key.json'), 'utf8')) as JWK, 'RS256');
    const iat = Math.floor(time.t / 1000);
    const legacy = await new SignJWT({ uuid: 'agent-k4', reg: 'r' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 900)
      .sign(key);
    assert.equal((await tokens.verify(legacy)).agentId, 'agent-k4');
  });

  test('a key set file that cannot be used is refused with what to do; a reload that fails keeps the keys', async () => {
    const bad = join(tempDir(), 'bad.json');
    for (const text of ['not json', '{"keys":[]}', '{"keys":[{"kty":"EC"}]}']) {
      writeFileSync(bad, text);
      await assert.rejects(AgentTokens.load({ keySetFile: bad }, time.now), /COURIER_ERR_CORRUPT_FILE|token-keys rotate/);
    }
    await assert.rejects(AgentTokens.load({ keySetFile: join(tempDir(), 'missing.json') }, time.now), /no such file/);
    const copy = join(tempDir(), 'copy.json');
    writeFileSync(copy, readFileSync(file));
    const tokens = await AgentTokens.load({ keySetFile: copy }, time.now);
    const ids = tokens.keyIds;
    writeFileSync(copy, 'half written');
    await assert.rejects(tokens.reload());
    assert.deepEqual(tokens.keyIds, ids);
  });
});
