/**
 * The bad-input table: every route of the admin socket and of the agents API, fed requests
 * it must refuse. Each case expects a specific status and error `code`, a body of exactly
 * `{"message","code"}`, and that nothing changed: the store is snapshotted (command counts
 * per status, every fixture command with its audit trail, every fixture agent) before and
 * after each case.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import WebSocket from 'ws';
import { requestJson, type JsonResponse } from '../../src/http-client.js';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

// ---- fixtures ------------------------------------------------------------------------------

interface Fixtures {
  keyA: string;
  keyGone: string;
  tokenA: string;
  tokenB: string;
  /** Signed by courier's own key, but `exp` is in the past. */
  expired: string;
  /** Right claims, signed by a key courier does not know. */
  otherKey: string;
  /** Courier's key, wrong audience. */
  wrongAudience: string;
  /** Courier's key, no `uuid` claim. */
  noUuid: string;
  /** A valid token of an agent removed since. */
  gone: string;
  /** pending, agent-a */
  pendingA: string;
  /** pending, agent-b (foreign to agent-a) */
  pendingB: string;
  /** delivered, agent-d */
  delivered: string;
  /** success, agent-d */
  finished: string;
  /** cancelled, agent-a */
  cancelled: string;
  /** pending, server component mod1 */
  server: string;
  /** An enrollment token for g1 with uses to spare. */
  enrollToken: string;
  /** Revoked. */
  revokedToken: string;
  /** max_uses 1, used once. */
  exhaustedToken: string;
}

let h: Harness;
const fx = {} as Fixtures;
/** Commands and agents compared before and after every case. */
const watchedCommands = (): string[] => [fx.pendingA, fx.pendingB, fx.delivered, fx.finished, fx.cancelled, fx.server];
const watchedAgents = ['agent-a', 'agent-b', 'agent-d', 'agent-gone', 'ghost'];

const ISSUER = 'wazuh';
const AUDIENCE = 'Wazuh Communications API';
const ALG_NONE_TOKEN = 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1dWlkIjoiYWdlbnQtYSIsInN1YiI6ImFnZW50LWEiLCJpc3MiOiJ3YXp1aCJ9.';

async function authenticate(id: string, key: string): Promise<string> {
  const res = await h.http('POST', '/api/v1/authentication', { body: { uuid: id, key } });
  assert.equal(res.status, 200, `authenticate ${id}: ${JSON.stringify(res.body)}`);
  return (res.body as { token: string }).token;
}

async function statusOf(id: string): Promise<string> {
  const res = await h.admin('GET', `/api/v1/commands/${id}`);
  assert.equal(res.status, 200, `GET ${id}: ${JSON.stringify(res.body)}`);
  return (res.body as { status: string }).status;
}

async function historyOf(id: string): Promise<{ from: string | null; to: string; cause: string }[]> {
  const res = await h.admin('GET', `/api/v1/commands/${id}/history`);
  assert.equal(res.status, 200, `GET ${id}/history: ${JSON.stringify(res.body)}`);
  return (res.body as { events: { from: string | null; to: string; cause: string }[] }).events;
}

/** Creates one command through the admin socket; returns its document_id. */
async function sendOne(spec: object): Promise<string> {
  const [created] = await h.send([spec]);
  assert.ok(created, 'no command created');
  return created.document_id;
}

/** One long-poll of an agent that must be answered with commands; returns their ids. */
async function pollOnce(token: string): Promise<string[]> {
  const res = await h.http('GET', '/api/v1/commands', { token });
  assert.equal(res.status, 200, `long-poll: ${JSON.stringify(res.body)}`);
  return (res.body as { commands: { document_id: string }[] }).commands.map((c) => c.document_id);
}

async function sign(claims: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0], times: { iat: number; exp: number }, audience = AUDIENCE) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuer(ISSUER).setAudience(audience).setIssuedAt(times.iat).setExpirationTime(times.exp).sign(key);
}

before(async () => {
  h = await startHarness({ bodyLimit: '2048' });

  fx.keyA = await h.addAgent('agent-a', ['g1']);
  fx.tokenA = await authenticate('agent-a', fx.keyA);
  fx.tokenB = await h.agentToken('agent-b', ['g2']);
  const tokenD = await h.agentToken('agent-d', ['g1']);
  fx.keyGone = await h.addAgent('agent-gone');
  fx.gone = await authenticate('agent-gone', fx.keyGone);
  assert.equal((await h.admin('DELETE', '/api/v1/agents/agent-gone')).status, 200);

  const jwk = JSON.parse(readFileSync(join(h.dataDir, 'jwt-signing-key.json'), 'utf8')) as JWK;
  const realKey = await importJWK(jwk, 'RS256');
  const { privateKey: strangerKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const agentA = { uuid: 'agent-a', sub: 'agent-a' };
  fx.expired = await sign(agentA, realKey, { iat: now - 2000, exp: now - 1100 });
  fx.otherKey = await sign(agentA, strangerKey, { iat: now, exp: now + 900 });
  fx.wrongAudience = await sign(agentA, realKey, { iat: now, exp: now + 900 }, 'Someone Else');
  fx.noUuid = await sign({ sub: 'agent-a' }, realKey, { iat: now, exp: now + 900 });

  fx.pendingA = await sendOne(command({ type: 'agent', id: 'agent-a' }));
  fx.pendingB = await sendOne(command({ type: 'agent', id: 'agent-b' }));
  fx.server = await sendOne(command({ type: 'server', id: 'mod1' }));

  fx.delivered = await sendOne(command({ type: 'agent', id: 'agent-d' }));
  assert.deepEqual(await pollOnce(tokenD), [fx.delivered]);
  await eventually(async () => ((await statusOf(fx.delivered)) === 'delivered' ? true : undefined), 'fixture delivered');

  fx.finished = await sendOne(command({ type: 'agent', id: 'agent-d' }));
  assert.deepEqual(await pollOnce(tokenD), [fx.finished]);
  await eventually(async () => ((await statusOf(fx.finished)) === 'delivered' ? true : undefined), 'fixture finished delivered');
  const result = await h.http('POST', '/api/v1/commands/results', { token: tokenD, body: { results: [{ document_id: fx.finished, code: 0, message: 'done' }] } });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(await statusOf(fx.finished), 'success');

  const makeToken = async (body: object) => {
    const res = await h.admin('POST', '/api/v1/enrollment-tokens', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; token: string };
  };
  fx.enrollToken = (await makeToken({ groups: ['g1'], max_uses: 100 })).token;
  const revoked = await makeToken({ groups: ['g1'] });
  assert.equal((await h.admin('DELETE', `/api/v1/enrollment-tokens/${revoked.id}`)).status, 200);
  fx.revokedToken = revoked.token;
  fx.exhaustedToken = (await makeToken({ groups: ['g1'], max_uses: 1 })).token;
  assert.equal((await h.http('POST', '/api/v1/enroll', { body: { token: fx.exhaustedToken, id: 'agent-enrolled' } })).status, 201);

  fx.cancelled = await sendOne(command({ type: 'agent', id: 'agent-a' }));
  const cancel = await h.admin('POST', `/api/v1/commands/${fx.cancelled}/cancel`);
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  assert.equal(await statusOf(fx.cancelled), 'cancelled');
});

after(async () => {
  await h?.stop();
});

// ---- snapshots and calls -------------------------------------------------------------------

interface Snapshot {
  metrics: Record<string, number>;
  commands: Record<string, { command: JsonResponse; history: JsonResponse }>;
  agents: Record<string, JsonResponse>;
  /** Every enrollment token, with its use count. */
  tokens: JsonResponse;
}

async function metrics(): Promise<Record<string, number>> {
  const res = await h.admin('GET', '/metrics');
  assert.equal(res.status, 200);
  const text = String(res.body);
  const found: Record<string, number> = {};
  for (const match of text.matchAll(/^(courier_commands\{status="[a-z_]+"\}|courier_live_commands|courier_subscriptions\{mode="[a-z-]+"\}) (\S+)$/gm)) {
    found[match[1]!] = Number(match[2]);
  }
  assert.equal(Object.keys(found).filter((k) => k.startsWith('courier_commands')).length, 7, `metrics lack courier_commands:\n${text.slice(0, 500)}`);
  return found;
}

async function snapshot(): Promise<Snapshot> {
  const commands: Snapshot['commands'] = {};
  for (const id of watchedCommands()) {
    commands[id] = { command: await h.admin('GET', `/api/v1/commands/${id}`), history: await h.admin('GET', `/api/v1/commands/${id}/history`) };
  }
  const agents: Snapshot['agents'] = {};
  for (const id of watchedAgents) agents[id] = await h.admin('GET', `/api/v1/agents/${id}`);
  return { metrics: await metrics(), commands, agents, tokens: await h.admin('GET', '/api/v1/enrollment-tokens') };
}

type Plane = 'admin' | 'agents';

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  token?: string;
}

function call(plane: Plane, method: string, path: string, options: CallOptions = {}): Promise<JsonResponse> {
  const headers = { ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers };
  const body = options.body !== undefined ? { body: options.body } : {};
  return plane === 'admin' ? requestJson({ socketPath: h.courier.socket, method, path, headers, ...body }) : requestJson({ baseUrl: h.url, method, path, headers, ...body });
}

/** Exactly `{"message","code"}`, the expected code, a message that is not empty (and names the problem). */
function assertErrorBody(body: unknown, code: string | number | RegExp, message?: RegExp): void {
  assert.equal(typeof body, 'object', `expected a JSON error body, got ${JSON.stringify(body)}`);
  assert.notEqual(body, null);
  assert.deepEqual(Object.keys(body as object).sort(), ['code', 'message'], `body keys: ${JSON.stringify(body)}`);
  const { message: text, code: actual } = body as { message: unknown; code: unknown };
  if (code instanceof RegExp) assert.match(String(actual), code, `code; body ${JSON.stringify(body)}`);
  else assert.equal(actual, code, `code; body ${JSON.stringify(body)}`);
  assert.equal(typeof text, 'string');
  assert.ok((text as string).trim().length > 0, 'message is empty');
  if (message) assert.match(text as string, message);
}

/** Runs every check; returns the failures. */
async function collect(checks: (() => unknown)[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const check of checks) {
    try {
      await check();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

// ---- the table -----------------------------------------------------------------------------

type Lazy<T> = T | ((f: Fixtures) => T);
/** A request body, or a function of the fixtures that makes one. */
type Body = string | number | boolean | null | object | ((f: Fixtures) => unknown);
const resolve = <T>(value: Lazy<T>): T => (typeof value === 'function' ? (value as (f: Fixtures) => T)(fx) : value);

interface BadCase {
  name: string;
  on: Plane;
  method: string;
  path: Lazy<string>;
  body?: Body;
  headers?: Lazy<Record<string, string>>;
  token?: Lazy<string>;
  status: number;
  /** The exact code, or a pattern where the right code is debatable. */
  code: string | RegExp;
  /** What the message must say (the bad field, id, line…). */
  message?: RegExp;
  /** More checks after the case (beyond the snapshot). */
  also?: () => Promise<void>;
}

const agentCmd = (id = 'agent-a', extra: object = {}) => command({ type: 'agent', id }, 'restart', extra);
const ndjson = { 'content-type': 'application/x-ndjson' };
const META = JSON.stringify({ agent: { id: 'agent-a', name: 'a', groups: ['g1'], type: 'endpoint', version: '5.0.0', host: {} } });
const header = (id: string, extra: object = {}) => JSON.stringify({ id, module: 'command', operation: 'update', ...extra });
const data = (code: unknown = 0, message: unknown = 'done') => JSON.stringify({ command: { result: { code, message } } });
const lines = (...parts: string[]) => parts.join('\n') + '\n';
const over = 'x'.repeat(3000);

function commandsCases(): BadCase[] {
  const post = (name: string, body: Body, status: number, code: string, message?: RegExp, headers?: Record<string, string>): BadCase => ({
    name: `POST /api/v1/commands: ${name}`,
    on: 'admin',
    method: 'POST',
    path: '/api/v1/commands',
    body,
    ...(headers ? { headers } : {}),
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  const withCmd = (extra: object) => ({ commands: [{ ...agentCmd(), ...extra }] });
  const setGroup = (args: object) => ({ commands: [{ ...agentCmd(), action: { name: 'set-group', args, version: '5.0.0' } }] });
  return [
    post('truncated JSON', '{"commands":[{"source":"Users', 400, 'COURIER_ERR_MALFORMED_JSON', /JSON/i),
    post('not JSON at all', 'hello, courier', 400, 'COURIER_ERR_MALFORMED_JSON', /JSON/i),
    post('empty body with content-type json', '', 400, 'COURIER_ERR_MALFORMED_JSON', /JSON|empty/i),
    post('content-type text/plain', () => JSON.stringify({ commands: [agentCmd()] }), 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /text\/plain/, { 'content-type': 'text/plain' }),
    post('content-type application/xml', '<commands/>', 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /application\/xml/, { 'content-type': 'application/xml' }),
    post('body over the limit', () => ({ commands: [agentCmd('agent-a', { user: over })] }), 413, 'COURIER_ERR_BODY_TOO_LARGE', /2048/),
    post('array instead of object', () => [agentCmd()], 400, V, /body/),
    post('JSON null', 'null', 400, V, /body/),
    post('a JSON string', '"commands"', 400, V, /body/),
    post('commands missing', {}, 400, V, /commands/),
    post('commands not an array', () => ({ commands: agentCmd() }), 400, V, /commands/),
    post('empty commands list', { commands: [] }, 400, 'COURIER_ERR_NO_COMMANDS', /^No commands provided\.$/),
    post('unknown top-level field', () => ({ commands: [agentCmd()], priority: 'high' }), 400, V, /priority/),
    post('unknown field in a command', () => withCmd({ priority: 1 }), 400, V, /priority/),
    post('unknown field in target', () => withCmd({ target: { type: 'agent', id: 'agent-a', name: 'x' } }), 400, V, /target.*name/),
    post('unknown field in action', () => withCmd({ action: { name: 'restart', args: {}, version: '5', when: 'now' } }), 400, V, /action.*when/),
    post('timeout as a string', () => withCmd({ timeout: '100' }), 400, V, /timeout/),
    post('timeout not an integer', () => withCmd({ timeout: 1.5 }), 400, V, /timeout/),
    post('timeout 0', () => withCmd({ timeout: 0 }), 400, V, /timeout/),
    post('timeout negative', () => withCmd({ timeout: -5 }), 400, V, /timeout/),
    post('timeout over 30 days', () => withCmd({ timeout: 2_592_001 }), 400, V, /timeout/),
    post('timeout huge', () => withCmd({ timeout: 1e15 }), 400, V, /timeout/),
    post('timeout missing', () => ({ commands: [{ source: 'x', target: { type: 'agent', id: 'agent-a' }, action: { name: 'restart' } }] }), 400, V, /timeout/),
    post('target.type "laptop"', () => withCmd({ target: { type: 'laptop', id: 'agent-a' } }), 400, V, /target.*type/),
    post('target missing', () => ({ commands: [{ source: 'x', action: { name: 'restart' }, timeout: 100 }] }), 400, V, /target/),
    post('target.id with a space', () => withCmd({ target: { type: 'agent', id: 'agent a' } }), 400, V, /target.*id/),
    post('target.id empty', () => withCmd({ target: { type: 'agent', id: '' } }), 400, V, /target.*id/),
    post('action missing', () => ({ commands: [{ source: 'x', target: { type: 'agent', id: 'agent-a' }, timeout: 100 }] }), 400, V, /action/),
    post('action a string', () => withCmd({ action: 'restart' }), 400, V, /action/),
    post('action.name with a slash', () => withCmd({ action: { name: '../restart', args: {} } }), 400, V, /action.*name/),
    post('action.args an array', () => withCmd({ action: { name: 'restart', args: [] } }), 400, V, /args/),
    post(
      'action.args nested 33 levels deep',
      () => withCmd({ action: { name: 'restart', args: { a: JSON.parse('['.repeat(32) + ']'.repeat(32)) } } }),
      400,
      V,
      /args\] is nested deeper than 32/,
    ),
    post('source missing', () => ({ commands: [{ target: { type: 'agent', id: 'agent-a' }, action: { name: 'restart' }, timeout: 100 }] }), 400, V, /source/),
    post('user a number', () => withCmd({ user: 42 }), 400, V, /user/),
    post('status other than pending', () => withCmd({ status: 'sent' }), 400, V, /status/),
    post('document_id with bad characters', () => withCmd({ document_id: 'id with spaces' }), 400, V, /document_id/),
    post('set-group with groups a string', () => setGroup({ groups: 'g1' }), 400, V, /groups/),
    post('set-group without groups', () => setGroup({}), 400, V, /groups/),
    post('set-group with an empty group name', () => setGroup({ groups: [''] }), 400, V, /groups/),
    post('refresh with index not an array', () => ({ commands: [{ ...agentCmd(), action: { name: 'refresh', args: { index: 'x' }, version: '5' } }] }), 400, V, /index/),
    post('unknown agent target', () => ({ commands: [agentCmd('ghost')] }), 400, 'COURIER_ERR_UNKNOWN_AGENT', /ghost/),
    post('valid command then an unknown agent', () => ({ commands: [agentCmd('agent-a'), agentCmd('ghost')] }), 400, 'COURIER_ERR_UNKNOWN_AGENT', /ghost/),
    post('group with no members', () => ({ commands: [command({ type: 'group', id: 'nobody' })] }), 400, 'COURIER_ERR_EMPTY_GROUP', /nobody/),
    post(
      'valid group then an empty group',
      () => ({ commands: [command({ type: 'group', id: 'g1' }), command({ type: 'group', id: 'nobody' })] }),
      400,
      'COURIER_ERR_EMPTY_GROUP',
      /nobody/,
    ),
    post('second command invalid', () => ({ commands: [agentCmd(), { ...agentCmd(), timeout: 0 }] }), 400, V, /commands.1.*timeout|timeout/),
    post(
      'document_id of an existing command with another target',
      (f) => ({ commands: [{ ...agentCmd('agent-b'), document_id: f.pendingA }] }),
      409,
      'COURIER_ERR_DOCUMENT_ID_CONFLICT',
      /already exists/,
    ),
    post(
      'document_id of an existing command with another action',
      (f) => ({ commands: [{ ...command({ type: 'agent', id: 'agent-a' }, 'set-group', {}), action: { name: 'set-group', args: { groups: ['x'] } }, document_id: f.pendingA }] }),
      409,
      'COURIER_ERR_DOCUMENT_ID_CONFLICT',
      /already exists/,
    ),
    post(
      'the same new document_id twice in one request, for two targets',
      () => ({
        commands: [
          { ...agentCmd('agent-a'), document_id: 'twice-in-one-request' },
          { ...agentCmd('agent-b'), document_id: 'twice-in-one-request' },
        ],
      }),
      409,
      'COURIER_ERR_DOCUMENT_ID_CONFLICT',
      /twice-in-one-request/,
    ),
  ];
}

function commandIdCases(): BadCase[] {
  const cases: BadCase[] = [];
  const bad = ['bad$id', 'a%20b', "it's", 'x'.repeat(257)];
  for (const [suffix, method] of [
    ['', 'GET'],
    ['/history', 'GET'],
    ['/cancel', 'POST'],
  ] as const) {
    const route = `${method} /api/v1/commands/:id${suffix}`;
    cases.push({
      name: `${route}: unknown id`,
      on: 'admin',
      method,
      path: `/api/v1/commands/no-such-command${suffix}`,
      status: 404,
      code: 'COURIER_ERR_COMMAND_NOT_FOUND',
      message: /no-such-command/,
    });
    for (const id of bad) {
      cases.push({
        name: `${route}: id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id)}`,
        on: 'admin',
        method,
        path: `/api/v1/commands/${id}${suffix}`,
        status: 400,
        code: 'COURIER_ERR_VALIDATION',
        message: /document_id/,
      });
    }
  }
  const cancel = (name: string, id: (f: Fixtures) => string, status: string): BadCase => ({
    name: `POST /api/v1/commands/:id/cancel: ${name}`,
    on: 'admin',
    method: 'POST',
    path: (f) => `/api/v1/commands/${id(f)}/cancel`,
    status: 409,
    code: 'COURIER_ERR_COMMAND_NOT_CANCELLABLE',
    message: new RegExp(status),
  });
  cases.push(
    cancel('a delivered command', (f) => f.delivered, 'delivered'),
    cancel('a finished command', (f) => f.finished, 'success'),
    cancel('a cancelled command', (f) => f.cancelled, 'cancelled'),
    {
      name: 'POST /api/v1/commands/:id/cancel: malformed JSON body',
      on: 'admin',
      method: 'POST',
      path: (f) => `/api/v1/commands/${f.pendingA}/cancel`,
      body: '{"reason":',
      status: 400,
      code: 'COURIER_ERR_MALFORMED_JSON',
    },
    {
      name: 'GET /api/v1/commands/:id: malformed percent-encoding',
      on: 'admin',
      method: 'GET',
      path: '/api/v1/commands/%E0%A4%A',
      status: 400,
      code: /^COURIER_ERR_/,
    },
    {
      name: 'unknown admin route',
      on: 'admin',
      method: 'GET',
      path: '/api/v1/nothing-here',
      status: 404,
      code: 'COURIER_ERR_ROUTE_NOT_FOUND',
      message: /nothing-here/,
    },
  );
  return cases;
}

function componentCases(): BadCase[] {
  const poll = (name: string, query: string, message: RegExp): BadCase => ({
    name: `GET /api/v1/commands (component poll): ${name}`,
    on: 'admin',
    method: 'GET',
    path: `/api/v1/commands${query}`,
    status: 400,
    code: 'COURIER_ERR_VALIDATION',
    message,
  });
  const results = (name: string, body: Body, status: number, code: string, message?: RegExp, headers?: Record<string, string>): BadCase => ({
    name: `POST /api/v1/commands/results (admin): ${name}`,
    on: 'admin',
    method: 'POST',
    path: '/api/v1/commands/results',
    body,
    ...(headers ? { headers } : {}),
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  return [
    // Exactly target_type=server&target_id=<module> is the long-poll; other valid queries list commands.
    poll('target_type unknown', '?target_type=laptop&target_id=mod1', /target_type/),
    poll('target_id with bad characters', '?target_type=server&target_id=a%20b', /target_id/),
    poll('unknown parameter', '?target_type=server&target_id=mod1&wait=5', /wait/),
    results('unknown id', { results: [{ document_id: 'no-such-command', code: 0, message: 'ok' }] }, 404, 'COURIER_ERR_COMMAND_NOT_FOUND', /no-such-command/),
    results(
      'known then unknown id',
      (f) => ({
        results: [
          { document_id: f.server, code: 0, message: 'ok' },
          { document_id: 'no-such-command', code: 0, message: 'ok' },
        ],
      }),
      404,
      'COURIER_ERR_COMMAND_NOT_FOUND',
      /no-such-command/,
    ),
    results('code as a string', (f) => ({ results: [{ document_id: f.server, code: '0', message: 'ok' }] }), 400, V, /code/),
    results('code past the 64-bit range', (f) => `{"results":[{"document_id":"${f.server}","code":1e19,"message":"ok"}]}`, 400, V, /code/),
    results('code below the 64-bit range', (f) => `{"results":[{"document_id":"${f.server}","code":-1e19,"message":"ok"}]}`, 400, V, /code/),
    results(
      'data nested 33 levels deep',
      (f) => `{"results":[{"document_id":"${f.server}","code":0,"message":"ok","data":${'['.repeat(33)}${']'.repeat(33)}}]}`,
      400,
      V,
      /nested deeper than 32/,
    ),
    results('empty results list', { results: [] }, 400, V, /results/),
    results('malformed JSON', '{"results":[{', 400, 'COURIER_ERR_MALFORMED_JSON'),
    results('body over the limit', (f) => ({ results: [{ document_id: f.server, code: 0, message: over }] }), 413, 'COURIER_ERR_BODY_TOO_LARGE'),
  ];
}

function agentAdminCases(): BadCase[] {
  const register = (name: string, body: Body, status: number, code: string, message?: RegExp, also?: () => Promise<void>): BadCase => ({
    name: `POST /api/v1/agents: ${name}`,
    on: 'admin',
    method: 'POST',
    path: '/api/v1/agents',
    body,
    status,
    code,
    ...(message ? { message } : {}),
    ...(also ? { also } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  const stillAuthenticates = async () => {
    assert.equal((await h.http('POST', '/api/v1/authentication', { body: { uuid: 'agent-a', key: fx.keyA } })).status, 200, 'the original key still works');
    const withNew = await h.http('POST', '/api/v1/authentication', { body: { uuid: 'agent-a', key: 'a-brand-new-key-0123456789' } });
    assert.equal(withNew.status, 401, 'the key of the refused registration does not work');
  };
  return [
    register('duplicate id', { id: 'agent-a', groups: ['g9'] }, 409, 'COURIER_ERR_AGENT_EXISTS', /agent-a/),
    register('duplicate id with a new key', { id: 'agent-a', key: 'a-brand-new-key-0123456789' }, 409, 'COURIER_ERR_AGENT_EXISTS', /agent-a/, stillAuthenticates),
    register('key shorter than 16', { id: 'ghost', key: 'short-key-15chr' }, 400, V, /key/),
    register('key of only whitespace', { id: 'ghost', key: ' '.repeat(20) }, 400, V, /key/),
    register('key not a string', { id: 'ghost', key: 1234567890123456 }, 400, V, /key/),
    register('group with a space', { id: 'ghost', groups: ['bad group'] }, 400, V, /groups/),
    register('empty group name', { id: 'ghost', groups: [''] }, 400, V, /groups/),
    register('groups not an array', { id: 'ghost', groups: 'g1' }, 400, V, /groups/),
    register('duplicate groups', { id: 'ghost', groups: ['g1', 'g1'] }, 400, V, /groups/),
    register('id missing', { groups: ['g1'] }, 400, V, /id/),
    register('id with a slash', { id: 'a/b' }, 400, V, /id/),
    register('unknown field', { id: 'ghost', nickname: 'Ghost' }, 400, V, /nickname/),
    register('name with a control character', { id: 'ghost', name: 'bad\u0007name' }, 400, V, /name/),
    register('name of 257 characters', { id: 'ghost', name: 'n'.repeat(257) }, 400, V, /name/),
    register('replace not a boolean', { id: 'ghost', replace: 'yes' }, 400, V, /replace/),
    register('malformed JSON', '{"id":"ghost"', 400, 'COURIER_ERR_MALFORMED_JSON'),
    register('array instead of object', [{ id: 'ghost' }], 400, V, /body/),
    ...(['GET', 'DELETE'] as const).flatMap((method): BadCase[] => [
      {
        name: `${method} /api/v1/agents/:id: unknown agent`,
        on: 'admin',
        method,
        path: '/api/v1/agents/ghost',
        status: 404,
        code: 'COURIER_ERR_AGENT_NOT_FOUND',
        message: /ghost/,
      },
      {
        name: `${method} /api/v1/agents/:id: removed agent`,
        on: 'admin',
        method,
        path: '/api/v1/agents/agent-gone',
        status: 404,
        code: 'COURIER_ERR_AGENT_NOT_FOUND',
        message: /agent-gone/,
      },
      {
        name: `${method} /api/v1/agents/:id: id of 257 characters`,
        on: 'admin',
        method,
        path: `/api/v1/agents/${'z'.repeat(257)}`,
        status: 400,
        code: V,
        message: /id/,
      },
      {
        name: `${method} /api/v1/agents/:id: malformed percent-encoding`,
        on: 'admin',
        method,
        path: '/api/v1/agents/%E0%A4%A',
        status: 400,
        code: /^COURIER_ERR_/,
      },
      {
        name: `${method} /api/v1/agents/:id: id with bad characters`,
        on: 'admin',
        method,
        path: '/api/v1/agents/bad$id',
        status: 400,
        code: V,
        message: /id/,
      },
    ]),
  ];
}

function authenticationCases(): BadCase[] {
  const auth = (name: string, body: Body, status: number, code: string, message?: RegExp, headers?: Record<string, string>): BadCase => ({
    name: `POST /api/v1/authentication: ${name}`,
    on: 'agents',
    method: 'POST',
    path: '/api/v1/authentication',
    body,
    ...(headers ? { headers } : {}),
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  return [
    // One answer for an unknown agent and a wrong key: no one can list the registered ids.
    auth('unknown agent', { uuid: 'ghost', key: 'whatever-key-0123456789' }, 401, 'COURIER_ERR_INVALID_KEY'),
    auth('removed agent with its old key', (f) => ({ uuid: 'agent-gone', key: f.keyGone }), 401, 'COURIER_ERR_INVALID_KEY'),
    auth('wrong key', { uuid: 'agent-a', key: 'not-the-key-0123456789' }, 401, 'COURIER_ERR_INVALID_KEY'),
    auth("another agent's key", (f) => ({ uuid: 'agent-b', key: f.keyA }), 401, 'COURIER_ERR_INVALID_KEY'),
    auth('truncated JSON', '{"uuid":"agent-a","key":', 400, 'COURIER_ERR_MALFORMED_JSON'),
    auth('not JSON', 'uuid=agent-a&key=x', 400, 'COURIER_ERR_MALFORMED_JSON'),
    auth('empty body', '', 400, 'COURIER_ERR_MALFORMED_JSON'),
    auth('key missing', { uuid: 'agent-a' }, 400, V, /key/),
    auth('uuid missing', (f) => ({ key: f.keyA }), 400, V, /uuid/),
    auth('uuid with bad characters', { uuid: 'agent a', key: 'x' }, 400, V, /uuid/),
    auth('key empty', { uuid: 'agent-a', key: '' }, 400, V, /key/),
    auth('key of only whitespace', { uuid: 'agent-a', key: ' \t ' }, 400, V, /key/),
    auth('unknown field', (f) => ({ uuid: 'agent-a', key: f.keyA, name: 'a' }), 400, V, /name/),
    auth('array instead of object', (f) => [{ uuid: 'agent-a', key: f.keyA }], 400, V, /body/),
    auth('content-type text/plain', (f) => JSON.stringify({ uuid: 'agent-a', key: f.keyA }), 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /text\/plain/, {
      'content-type': 'text/plain',
    }),
    auth('body over the limit', { uuid: 'agent-a', key: over }, 413, 'COURIER_ERR_BODY_TOO_LARGE'),
  ];
}

/** Every authenticated route, with a request that would change something if it were let through. */
function badTokenCases(): BadCase[] {
  const routes: { route: string; method: string; path: string; body?: (f: Fixtures) => unknown; headers?: Record<string, string> }[] = [
    { route: 'GET /api/v1/commands (long-poll)', method: 'GET', path: '/api/v1/commands' },
    {
      route: 'POST /api/v1/commands/results',
      method: 'POST',
      path: '/api/v1/commands/results',
      body: (f) => ({ results: [{ document_id: f.pendingA, code: 0, message: 'done' }] }),
    },
    {
      route: 'POST /api/v1/events/stateful',
      method: 'POST',
      path: '/api/v1/events/stateful',
      body: (f) => lines(META, header(f.pendingA), data()),
      headers: ndjson,
    },
  ];
  const tokens: { name: string; auth: (f: Fixtures) => string | undefined; code: string; status?: number }[] = [
    { name: 'no token', auth: () => undefined, code: 'COURIER_ERR_MISSING_TOKEN' },
    { name: 'Basic scheme', auth: () => 'Basic YWdlbnQtYTpzZWNyZXQ=', code: 'COURIER_ERR_MISSING_TOKEN' },
    { name: 'Bearer without a token', auth: () => 'Bearer', code: 'COURIER_ERR_MISSING_TOKEN' },
    { name: 'garbage token', auth: () => 'Bearer not.a.jwt', code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'token signed by another key', auth: (f) => `Bearer ${f.otherKey}`, code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'token with alg none', auth: () => `Bearer ${ALG_NONE_TOKEN}`, code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'token for another audience', auth: (f) => `Bearer ${f.wrongAudience}`, code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'token without uuid', auth: (f) => `Bearer ${f.noUuid}`, code: 'COURIER_ERR_INVALID_TOKEN' },
    // 401: authenticate again (the Wazuh agent does so at once on a 401).
    { name: 'expired token', auth: (f) => `Bearer ${f.expired}`, code: 'COURIER_ERR_EXPIRED_TOKEN', status: 401 },
    { name: 'token of a removed agent', auth: (f) => `Bearer ${f.gone}`, code: 'COURIER_ERR_INVALID_TOKEN' },
  ];
  const cases: BadCase[] = [];
  for (const r of routes) {
    for (const t of tokens) {
      cases.push({
        name: `${r.route}: ${t.name}`,
        on: 'agents',
        method: r.method,
        path: r.path,
        ...(r.body ? { body: r.body } : {}),
        headers: (f) => {
          const authorization = t.auth(f);
          return { ...r.headers, ...(authorization !== undefined ? { authorization } : {}) };
        },
        status: t.status ?? 403,
        code: t.code,
      });
    }
  }
  // Authentication comes first: an unauthenticated client learns nothing about what it sent.
  cases.push({
    name: 'POST /api/v1/commands/results: no token and a body of the wrong shape',
    on: 'agents',
    method: 'POST',
    path: '/api/v1/commands/results',
    body: { results: 'all done' },
    status: 403,
    code: 'COURIER_ERR_MISSING_TOKEN',
  });
  return cases;
}

function agentResultsCases(): BadCase[] {
  const results = (name: string, body: Body, status: number, code: string, message?: RegExp, headers?: Record<string, string>): BadCase => ({
    name: `POST /api/v1/commands/results: ${name}`,
    on: 'agents',
    method: 'POST',
    path: '/api/v1/commands/results',
    token: (f) => f.tokenA,
    body,
    ...(headers ? { headers } : {}),
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  const one = (f: Fixtures, extra: object = {}) => ({ results: [{ document_id: f.pendingA, code: 0, message: 'done', ...extra }] });
  return [
    results("another agent's command", (f) => ({ results: [{ document_id: f.pendingB, code: 0, message: 'done' }] }), 404, 'COURIER_ERR_COMMAND_NOT_FOUND', /./),
    results('unknown id', { results: [{ document_id: 'no-such-command', code: 0, message: 'done' }] }, 404, 'COURIER_ERR_COMMAND_NOT_FOUND', /no-such-command/),
    results(
      'own command, then a foreign one',
      (f) => ({
        results: [
          { document_id: f.pendingA, code: 0, message: 'done' },
          { document_id: f.pendingB, code: 0, message: 'done' },
        ],
      }),
      404,
      'COURIER_ERR_COMMAND_NOT_FOUND',
    ),
    results(
      'own command, then an unknown one',
      (f) => ({
        results: [
          { document_id: f.pendingA, code: 0, message: 'done' },
          { document_id: 'no-such-command', code: 0, message: 'done' },
        ],
      }),
      404,
      'COURIER_ERR_COMMAND_NOT_FOUND',
      /no-such-command/,
    ),
    results("a server component's command", (f) => ({ results: [{ document_id: f.server, code: 0, message: 'done' }] }), 404, 'COURIER_ERR_COMMAND_NOT_FOUND'),
    results('code as a string', (f) => one(f, { code: '0' }), 400, V, /code/),
    results('code not an integer', (f) => one(f, { code: 0.5 }), 400, V, /code/),
    results('code missing', (f) => ({ results: [{ document_id: f.pendingA, message: 'done' }] }), 400, V, /code/),
    results('message not a string', (f) => one(f, { message: { text: 'done' } }), 400, V, /message/),
    results('document_id missing', { results: [{ code: 0, message: 'done' }] }, 400, V, /document_id/),
    results('document_id with bad characters', { results: [{ document_id: 'a b', code: 0, message: 'done' }] }, 400, V, /document_id/),
    results('unknown field in a result', (f) => one(f, { status: 'success' }), 400, V, /status/),
    results('empty results list', { results: [] }, 400, V, /results/),
    results('results not an array', (f) => ({ results: one(f).results[0] }), 400, V, /results/),
    results('results missing', {}, 400, V, /results/),
    results('array instead of object', (f) => one(f).results, 400, V, /body/),
    results('truncated JSON', '{"results":[{"document_id":', 400, 'COURIER_ERR_MALFORMED_JSON'),
    results('not JSON', 'done', 400, 'COURIER_ERR_MALFORMED_JSON'),
    results('empty body', '', 400, 'COURIER_ERR_MALFORMED_JSON'),
    results('content-type text/plain', (f) => JSON.stringify(one(f)), 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /text\/plain/, { 'content-type': 'text/plain' }),
    results('content-type application/x-ndjson', (f) => JSON.stringify(one(f)), 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /ndjson/, ndjson),
    results('body over the limit', (f) => one(f, { message: over }), 413, 'COURIER_ERR_BODY_TOO_LARGE'),
  ];
}

function statefulCases(): BadCase[] {
  const stateful = (name: string, body: Body, status: number, code: string, message?: RegExp, headers: Record<string, string> = ndjson): BadCase => ({
    name: `POST /api/v1/events/stateful: ${name}`,
    on: 'agents',
    method: 'POST',
    path: '/api/v1/events/stateful',
    token: (f) => f.tokenA,
    body,
    headers,
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  return [
    stateful('a line that is not JSON', (f) => lines(META, header(f.pendingA), '{"command":{"result":'), 400, 'COURIER_ERR_MALFORMED_JSON', /line 3/i),
    stateful('metadata line not JSON', (f) => lines('agent: a', header(f.pendingA), data()), 400, 'COURIER_ERR_MALFORMED_JSON', /line 1/i),
    stateful('missing metadata line', (f) => lines(header(f.pendingA), data()), 400, V, /Line 1|metadata/),
    stateful('only the metadata line', lines(META), 400, V, /No events/),
    stateful('odd number of lines', (f) => lines(META, header(f.pendingA)), 400, V, /pairs/),
    stateful('odd number of lines after a full pair', (f) => lines(META, header(f.pendingA), data(), header(f.pendingA)), 400, V, /pairs/),
    stateful('wrong module', (f) => lines(META, header(f.pendingA, { module: 'inventory' }), data()), 400, V, /module/),
    stateful('wrong operation', (f) => lines(META, header(f.pendingA, { operation: 'delete' }), data()), 400, V, /operation/),
    stateful('header without id', lines(META, JSON.stringify({ module: 'command', operation: 'update' }), data()), 400, V, /id/),
    stateful('result code as a string', (f) => lines(META, header(f.pendingA), data('0')), 400, V, /code/),
    stateful('result code past the 64-bit range', (f) => lines(META, header(f.pendingA), data(1e19)), 400, V, /code/),
    stateful('result message missing', (f) => lines(META, header(f.pendingA), JSON.stringify({ command: { result: { code: 0 } } })), 400, V, /message/),
    stateful('data line without result', (f) => lines(META, header(f.pendingA), JSON.stringify({ command: {} })), 400, V, /result/),
    stateful('a valid pair, then a malformed one', (f) => lines(META, header(f.pendingA), data(), header(f.pendingA, { module: 'fim' }), data()), 400, V, /Line 4/),
    stateful('empty body', '', 400, V),
    stateful("another agent's command", (f) => lines(META, header(f.pendingB), data()), 404, 'COURIER_ERR_COMMAND_NOT_FOUND'),
    stateful('unknown id', lines(META, header('no-such-command'), data()), 404, 'COURIER_ERR_COMMAND_NOT_FOUND', /no-such-command/),
    stateful('own command, then a foreign one', (f) => lines(META, header(f.pendingA), data(), header(f.pendingB), data()), 404, 'COURIER_ERR_COMMAND_NOT_FOUND'),
    stateful('JSON content type', (f) => ({ results: [{ document_id: f.pendingA, code: 0, message: 'done' }] }), 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /ndjson/, {
      'content-type': 'application/json',
    }),
    stateful('body over the limit', (f) => lines(META, header(f.pendingA), data(0, over)), 413, 'COURIER_ERR_BODY_TOO_LARGE'),
  ];
}

function webSocketRouteCases(): BadCase[] {
  return [
    {
      name: 'GET /api/v1/commands/ws without upgrade',
      on: 'agents',
      method: 'GET',
      path: '/api/v1/commands/ws',
      status: 426,
      code: 'COURIER_ERR_UPGRADE_REQUIRED',
      message: /WebSocket/,
    },
    {
      name: 'GET /api/v1/commands/ws without upgrade, with a token',
      on: 'agents',
      method: 'GET',
      path: '/api/v1/commands/ws',
      token: (f) => f.tokenA,
      status: 426,
      code: 'COURIER_ERR_UPGRADE_REQUIRED',
    },
    { name: 'unknown agents API route', on: 'agents', method: 'GET', path: '/api/v1/nothing-here', status: 404, code: 'COURIER_ERR_ROUTE_NOT_FOUND', message: /nothing-here/ },
  ];
}

function enrollmentTokenAdminCases(): BadCase[] {
  const create = (name: string, body: Body, status: number, code: string, message?: RegExp): BadCase => ({
    name: `POST /api/v1/enrollment-tokens: ${name}`,
    on: 'admin',
    method: 'POST',
    path: '/api/v1/enrollment-tokens',
    body,
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  return [
    create('groups not an array', { groups: 'g1' }, 400, V, /groups/),
    create('group with a space', { groups: ['bad group'] }, 400, V, /groups/),
    create('duplicate groups', { groups: ['g1', 'g1'] }, 400, V, /groups/),
    create('expires_in a number', { groups: ['g1'], expires_in: 3600 }, 400, V, /expires_in/),
    create('expires_in not a duration', { groups: ['g1'], expires_in: 'soon' }, 400, V, /expires_in/),
    create('expires_in in days', { groups: ['g1'], expires_in: '7d' }, 400, V, /expires_in/),
    create('expires_in over a year', { groups: ['g1'], expires_in: '8761h' }, 400, V, /expires_in/),
    create('expires_in under a second', { groups: ['g1'], expires_in: '999ms' }, 400, V, /expires_in/),
    create('max_uses 0', { groups: ['g1'], max_uses: 0 }, 400, V, /max_uses/),
    create('max_uses negative', { groups: ['g1'], max_uses: -1 }, 400, V, /max_uses/),
    create('max_uses not an integer', { groups: ['g1'], max_uses: 1.5 }, 400, V, /max_uses/),
    create('max_uses a string', { groups: ['g1'], max_uses: '5' }, 400, V, /max_uses/),
    create('max_uses past 32 bits', { groups: ['g1'], max_uses: 2 ** 31 }, 400, V, /max_uses/),
    create('unknown field', { groups: ['g1'], name: 'fleet' }, 400, V, /name/),
    create('malformed JSON', '{"groups":["g1"]', 400, 'COURIER_ERR_MALFORMED_JSON'),
    create('array instead of object', [{ groups: ['g1'] }], 400, V, /body/),
    { name: 'GET /api/v1/enrollment-tokens: unknown query parameter', on: 'admin', method: 'GET', path: '/api/v1/enrollment-tokens?all=1', status: 400, code: V, message: /all/ },
    {
      name: 'DELETE /api/v1/enrollment-tokens/:id: unknown id',
      on: 'admin',
      method: 'DELETE',
      path: '/api/v1/enrollment-tokens/ffffffffffffffff',
      status: 404,
      code: 'COURIER_ERR_ENROLLMENT_TOKEN_NOT_FOUND',
      message: /ffffffffffffffff/,
    },
    {
      name: 'DELETE /api/v1/enrollment-tokens/:id: not a token id',
      on: 'admin',
      method: 'DELETE',
      path: '/api/v1/enrollment-tokens/not-an-id',
      status: 400,
      code: V,
      message: /id/,
    },
  ];
}

function enrollCases(): BadCase[] {
  const enroll = (name: string, body: Body, status: number, code: string, message?: RegExp, headers?: Record<string, string>): BadCase => ({
    name: `POST /api/v1/enroll: ${name}`,
    on: 'agents',
    method: 'POST',
    path: '/api/v1/enroll',
    body,
    ...(headers ? { headers } : {}),
    status,
    code,
    ...(message ? { message } : {}),
  });
  const V = 'COURIER_ERR_VALIDATION';
  const T = 'COURIER_ERR_INVALID_ENROLLMENT_TOKEN';
  // Every case asks for the watched id 'ghost': the snapshot shows nothing was registered.
  return [
    enroll('unknown token', { token: 'courier-enroll_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', id: 'ghost' }, 401, T, /^Invalid enrollment token$/),
    enroll('not a token', { token: 'let-me-in', id: 'ghost' }, 401, T, /^Invalid enrollment token$/),
    enroll(
      'a token with a wrong secret',
      (f) => ({ token: `${f.enrollToken.slice(0, -1)}${f.enrollToken.endsWith('A') ? 'B' : 'A'}`, id: 'ghost' }),
      401,
      T,
      /^Invalid enrollment token$/,
    ),
    enroll('an agent key instead of a token', (f) => ({ token: f.keyA, id: 'ghost' }), 401, T, /^Invalid enrollment token$/),
    enroll('a revoked token', (f) => ({ token: f.revokedToken, id: 'ghost' }), 401, T, /revoked/),
    enroll('an exhausted token', (f) => ({ token: f.exhaustedToken, id: 'ghost' }), 401, T, /exhausted/),
    enroll('an id that exists', (f) => ({ token: f.enrollToken, id: 'agent-a' }), 409, 'COURIER_ERR_AGENT_EXISTS', /agent-a/),
    enroll('token missing', { id: 'ghost' }, 400, V, /token/),
    enroll('token a number', { token: 12345, id: 'ghost' }, 400, V, /token/),
    enroll('token empty', { token: '', id: 'ghost' }, 400, V, /token/),
    enroll('token of only whitespace', { token: '   ', id: 'ghost' }, 400, V, /token/),
    enroll('token null', { token: null, id: 'ghost' }, 400, V, /token/),
    enroll('id with a space', (f) => ({ token: f.enrollToken, id: 'gh ost' }), 400, V, /id/),
    enroll('id a number', (f) => ({ token: f.enrollToken, id: 7 }), 400, V, /id/),
    enroll('id of 257 characters', (f) => ({ token: f.enrollToken, id: 'g'.repeat(257) }), 400, V, /id/),
    enroll('name with a newline', (f) => ({ token: f.enrollToken, id: 'ghost', name: 'a\nb' }), 400, V, /name/),
    enroll('name an object', (f) => ({ token: f.enrollToken, id: 'ghost', name: {} }), 400, V, /name/),
    enroll('unknown field', (f) => ({ token: f.enrollToken, id: 'ghost', groups: ['admins'] }), 400, V, /groups/),
    enroll('array instead of object', (f) => [{ token: f.enrollToken, id: 'ghost' }], 400, V, /body/),
    enroll('truncated JSON', '{"token":"courier-enroll_', 400, 'COURIER_ERR_MALFORMED_JSON'),
    enroll('empty body', '', 400, 'COURIER_ERR_MALFORMED_JSON'),
    enroll('content-type text/plain', (f) => JSON.stringify({ token: f.enrollToken, id: 'ghost' }), 415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', /text\/plain/, {
      'content-type': 'text/plain',
    }),
    enroll('body over the limit', { token: 'x', id: 'ghost', name: over }, 413, 'COURIER_ERR_BODY_TOO_LARGE'),
    { ...enroll('a query parameter', (f) => ({ token: f.enrollToken, id: 'ghost' }), 400, V, /force/), path: '/api/v1/enroll?force=1' },
  ];
}

const TABLE: { group: string; cases: BadCase[] }[] = [
  { group: 'admin: POST /api/v1/commands', cases: commandsCases() },
  { group: 'admin: command by id', cases: commandIdCases() },
  { group: 'admin: component poll and results', cases: componentCases() },
  { group: 'admin: agents', cases: agentAdminCases() },
  { group: 'admin: enrollment tokens', cases: enrollmentTokenAdminCases() },
  { group: 'agents API: enrollment', cases: enrollCases() },
  { group: 'agents API: authentication', cases: authenticationCases() },
  { group: 'agents API: bad tokens on every authenticated route', cases: badTokenCases() },
  { group: 'agents API: results', cases: agentResultsCases() },
  { group: 'agents API: stateful events', cases: statefulCases() },
  { group: 'agents API: WebSocket route and unknown routes', cases: webSocketRouteCases() },
];

for (const { group, cases } of TABLE) {
  describe(group, () => {
    for (const c of cases) {
      test(`${c.name} -> ${c.status} ${c.code instanceof RegExp ? 'COURIER_ERR_*' : c.code}`, async () => {
        const beforeCase = await snapshot();
        const res = await call(c.on, c.method, resolve(c.path), {
          ...(c.body !== undefined ? { body: resolve(c.body) } : {}),
          ...(c.headers !== undefined ? { headers: resolve(c.headers) } : {}),
          ...(c.token !== undefined ? { token: resolve(c.token) } : {}),
        });
        const afterCase = await snapshot();
        // Every check runs, so that a failure reports both a wrong answer and a changed store.
        const problems = await collect([
          () => assert.equal(res.status, c.status, `status; body ${JSON.stringify(res.body)}`),
          () => assertErrorBody(res.body, c.code, c.message),
          () => assert.deepEqual(afterCase, beforeCase, 'the request changed the store'),
          async () => c.also?.(),
        ]);
        if (problems.length === 1) throw problems[0];
        if (problems.length > 1) throw new AggregateError(problems, problems.map((p) => (p as Error).message).join('\n---\n'));
      });
    }
  });
}

// ---- repeated results ----------------------------------------------------------------------

describe('a repeated result', () => {
  test('is ignored (200, not an error) and does not change the recorded result', async () => {
    const token = await h.agentToken('agent-r');
    const id = await sendOne(command({ type: 'agent', id: 'agent-r' }));
    assert.deepEqual(await pollOnce(token), [id]);
    await eventually(async () => ((await statusOf(id)) === 'delivered' ? true : undefined), 'delivered');

    const first = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: id, code: 0, message: 'done' }] } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(
      (first.body as { results: { outcome: string; status: string }[] }).results.map((r) => [r.outcome, r.status]),
      [['recorded', 'success']],
    );
    const recorded = await h.admin('GET', `/api/v1/commands/${id}`);
    const trail = await historyOf(id);

    const again = await h.http('POST', '/api/v1/commands/results', { token, body: { results: [{ document_id: id, code: 7, message: 'changed my mind' }] } });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const [outcome] = (again.body as { results: { document_id: string; outcome: string; status: string }[] }).results;
    assert.equal(outcome?.document_id, id);
    assert.equal(outcome?.outcome, 'ignored');
    assert.equal(outcome?.status, 'success');

    const stateful = await h.http('POST', '/api/v1/events/stateful', { token, headers: ndjson, body: lines(META, header(id), data(3, 'third try')) });
    assert.equal(stateful.status, 200, JSON.stringify(stateful.body));
    assert.deepEqual(
      (stateful.body as { results: { id: string; result: string }[] }).results.map((r) => [r.id, r.result]),
      [[id, 'noop']],
    );

    const admin = await h.admin('POST', '/api/v1/commands/results', { results: [{ document_id: id, code: 9, message: 'operator override' }] });
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    assert.equal((admin.body as { results: { outcome: string }[] }).results[0]?.outcome, 'ignored');

    const now = await h.admin('GET', `/api/v1/commands/${id}`);
    assert.deepEqual(now.body, recorded.body);
    assert.deepEqual((now.body as { result: unknown }).result, { code: 0, message: 'done' });
    assert.deepEqual(await historyOf(id), trail);
  });

  test('twice in one batch: the first is recorded, the second ignored', async () => {
    const token = await h.agentToken('agent-r2');
    const id = await sendOne(command({ type: 'agent', id: 'agent-r2' }));
    assert.deepEqual(await pollOnce(token), [id]);
    await eventually(async () => ((await statusOf(id)) === 'delivered' ? true : undefined), 'delivered');
    const res = await h.http('POST', '/api/v1/commands/results', {
      token,
      body: {
        results: [
          { document_id: id, code: 2, message: 'failed' },
          { document_id: id, code: 0, message: 'worked after all' },
        ],
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      (res.body as { results: { outcome: string }[] }).results.map((r) => r.outcome),
      ['recorded', 'ignored'],
    );
    const view = (await h.admin('GET', `/api/v1/commands/${id}`)).body as { status: string; result: unknown };
    assert.equal(view.status, 'failure');
    assert.deepEqual(view.result, { code: 2, message: 'failed' });
    assert.deepEqual(
      (await historyOf(id)).map((e) => e.to),
      ['pending', 'sent', 'delivered', 'failure'],
    );
  });
});

// ---- WebSocket -----------------------------------------------------------------------------

/** The refused upgrade: its status and its JSON body. */
function refusedUpgrade(path: string, headers: Record<string, string>): Promise<{ status: number; body: unknown; contentType: string | undefined }> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}${path}`, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text: the assertion on the body shape will say so
        }
        resolvePromise({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] });
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      // `unexpected-response` handled it; anything else is a failure
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** A client WebSocket whose frames are read one at a time. */
class FrameReader {
  private readonly frames: unknown[] = [];
  private waiting: ((frame: unknown) => void) | null = null;
  closed: { code: number; reason: string } | null = null;
  private onClose: (() => void) | null = null;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const frame = JSON.parse((raw as Buffer).toString()) as unknown;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(frame);
      } else this.frames.push(frame);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.onClose?.();
    });
  }

  static open(token: string): Promise<FrameReader> {
    return new Promise((resolvePromise, reject) => {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/api/v1/commands/ws`, { headers: { authorization: `Bearer ${token}` } });
      const reader = new FrameReader(ws);
      ws.once('open', () => resolvePromise(reader));
      ws.once('error', reject);
    });
  }

  next(what: string): Promise<unknown> {
    const queued = this.frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error(`socket closed (${this.closed.code}) while waiting for ${what}`));
    return new Promise((resolvePromise, reject) => {
      const guard = setTimeout(() => reject(new Error(`no frame: ${what}`)), 10_000);
      this.waiting = (frame) => {
        clearTimeout(guard);
        resolvePromise(frame);
      };
      this.onClose = () => {
        clearTimeout(guard);
        reject(new Error(`socket closed (${this.closed?.code}) while waiting for ${what}`));
      };
    });
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolvePromise) => {
      this.ws.once('close', (code, reason) => resolvePromise({ code, reason: reason.toString() }));
    });
  }
}

function assertErrorFrame(frame: unknown, code: string, message?: RegExp): void {
  assert.equal(typeof frame, 'object');
  assert.deepEqual(Object.keys(frame as object).sort(), ['code', 'message', 'type'], `frame: ${JSON.stringify(frame)}`);
  const f = frame as { type: string; code: string; message: string };
  assert.equal(f.type, 'error');
  assert.equal(f.code, code, `frame: ${JSON.stringify(frame)}`);
  assert.ok(f.message.length > 0);
  if (message) assert.match(f.message, message);
}

describe('WebSocket', () => {
  const refusals: { name: string; path?: string; auth: (f: Fixtures) => string | undefined; status: number; code: string }[] = [
    { name: 'no token', auth: () => undefined, status: 403, code: 'COURIER_ERR_MISSING_TOKEN' },
    { name: 'garbage token', auth: () => 'Bearer garbage', status: 403, code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'token signed by another key', auth: (f) => `Bearer ${f.otherKey}`, status: 403, code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'expired token', auth: (f) => `Bearer ${f.expired}`, status: 401, code: 'COURIER_ERR_EXPIRED_TOKEN' },
    { name: 'token of a removed agent', auth: (f) => `Bearer ${f.gone}`, status: 403, code: 'COURIER_ERR_INVALID_TOKEN' },
    { name: 'unknown path, valid token', path: '/api/v1/nothing-here', auth: (f) => `Bearer ${f.tokenA}`, status: 404, code: 'COURIER_ERR_ROUTE_NOT_FOUND' },
  ];
  for (const r of refusals) {
    test(`an upgrade with ${r.name} is refused: ${r.status} ${r.code} with a JSON body`, async () => {
      const beforeCase = await snapshot();
      const authorization = r.auth(fx);
      const res = await refusedUpgrade(r.path ?? '/api/v1/commands/ws', authorization !== undefined ? { authorization } : {});
      assert.equal(res.status, r.status, JSON.stringify(res.body));
      assert.match(res.contentType ?? '', /application\/json/);
      assertErrorBody(res.body, r.code);
      assert.deepEqual(await snapshot(), beforeCase);
    });
  }

  test('bad frames on an open socket are answered with error frames; the socket stays open and works', async () => {
    const token = await h.agentToken('agent-ws');
    const reader = await FrameReader.open(token);
    try {
      await eventually(async () => ((await metrics())['courier_subscriptions{mode="websocket"}'] === 1 ? true : undefined), 'websocket subscription');
      const bad: { name: string; send: () => void; code: string; message?: RegExp }[] = [
        { name: 'non-JSON frame', send: () => reader.ws.send('this is not json'), code: 'COURIER_ERR_MALFORMED_JSON', message: /JSON/ },
        { name: 'truncated JSON frame', send: () => reader.ws.send('{"type":"ack","ids":['), code: 'COURIER_ERR_MALFORMED_JSON' },
        { name: 'unknown type', send: () => reader.ws.send(JSON.stringify({ type: 'hello', ids: ['x'] })), code: 'COURIER_ERR_VALIDATION', message: /ack|result/ },
        { name: 'JSON array', send: () => reader.ws.send('[]'), code: 'COURIER_ERR_VALIDATION' },
        {
          name: 'binary frame',
          send: () => reader.ws.send(Buffer.from(JSON.stringify({ type: 'ack', ids: ['x'] })), { binary: true }),
          code: 'COURIER_ERR_VALIDATION',
          message: /[Bb]inary/,
        },
        {
          name: 'ack for an unknown id',
          send: () => reader.ws.send(JSON.stringify({ type: 'ack', ids: ['no-such-command'] })),
          code: 'COURIER_ERR_VALIDATION',
          message: /no-such-command/,
        },
        {
          name: "ack for another agent's pending command",
          send: () => reader.ws.send(JSON.stringify({ type: 'ack', ids: [fx.pendingB] })),
          code: 'COURIER_ERR_VALIDATION',
          message: new RegExp(fx.pendingB),
        },
        { name: 'ack with no ids', send: () => reader.ws.send(JSON.stringify({ type: 'ack', ids: [] })), code: 'COURIER_ERR_VALIDATION' },
        {
          name: "result for another agent's command",
          send: () => reader.ws.send(JSON.stringify({ type: 'result', document_id: fx.pendingB, code: 0, message: 'done' })),
          code: 'COURIER_ERR_COMMAND_NOT_FOUND',
        },
        {
          name: 'result for an unknown id',
          send: () => reader.ws.send(JSON.stringify({ type: 'result', document_id: 'no-such-command', code: 0, message: 'done' })),
          code: 'COURIER_ERR_COMMAND_NOT_FOUND',
          message: /no-such-command/,
        },
        {
          name: 'result with code as a string',
          send: () => reader.ws.send(JSON.stringify({ type: 'result', document_id: fx.pendingA, code: '0', message: 'done' })),
          code: 'COURIER_ERR_VALIDATION',
        },
      ];
      for (const b of bad) {
        const beforeCase = await snapshot();
        b.send();
        assertErrorFrame(await reader.next(b.name), b.code, b.message);
        assert.deepEqual(await snapshot(), beforeCase, `${b.name} changed the store`);
        assert.equal(reader.closed, null, `${b.name} closed the socket`);
        assert.equal(reader.ws.readyState, WebSocket.OPEN);
      }

      // Still subscribed: a command sent now arrives, and can be acked and reported.
      const id = await sendOne(command({ type: 'agent', id: 'agent-ws' }));
      const pushed = (await reader.next('pushed command')) as { type: string; commands: { document_id: string }[] };
      assert.equal(pushed.type, 'commands');
      assert.deepEqual(
        pushed.commands.map((c) => c.document_id),
        [id],
      );
      assert.equal(await statusOf(id), 'sent');

      // A sent (not yet acked) command cannot be cancelled.
      const beforeCancel = await snapshot();
      const cancel = await h.admin('POST', `/api/v1/commands/${id}/cancel`);
      assert.equal(cancel.status, 409, JSON.stringify(cancel.body));
      assertErrorBody(cancel.body, 'COURIER_ERR_COMMAND_NOT_CANCELLABLE', /sent/);
      assert.equal(await statusOf(id), 'sent');
      assert.deepEqual(
        (await historyOf(id)).map((e) => e.to),
        ['pending', 'sent'],
      );
      assert.deepEqual((await snapshot()).metrics, beforeCancel.metrics);

      reader.ws.send(JSON.stringify({ type: 'ack', ids: [id] }));
      await eventually(async () => ((await statusOf(id)) === 'delivered' ? true : undefined), 'delivered after ack');
      // Acking it twice: no longer in flight.
      reader.ws.send(JSON.stringify({ type: 'ack', ids: [id] }));
      assertErrorFrame(await reader.next('second ack'), 'COURIER_ERR_VALIDATION', new RegExp(id));

      reader.ws.send(JSON.stringify({ type: 'result', document_id: id, code: 0, message: 'done' }));
      const ack = (await reader.next('result_ack')) as { type: string; document_id: string; outcome: string; status: string };
      assert.deepEqual([ack.type, ack.document_id, ack.outcome, ack.status], ['result_ack', id, 'recorded', 'success']);
      reader.ws.send(JSON.stringify({ type: 'result', document_id: id, code: 1, message: 'again' }));
      const repeat = (await reader.next('repeated result_ack')) as { type: string; outcome: string; status: string };
      assert.deepEqual([repeat.type, repeat.outcome, repeat.status], ['result_ack', 'ignored', 'success']);
      assert.deepEqual(((await h.admin('GET', `/api/v1/commands/${id}`)).body as { result: unknown }).result, { code: 0, message: 'done' });
    } finally {
      reader.ws.close();
      await reader.whenClosed();
    }
  });

  test('a frame over the body limit closes the socket (1009) and changes nothing; pushed commands go back to pending', async () => {
    const token = await h.agentToken('agent-ws-big');
    const reader = await FrameReader.open(token);
    const id = await sendOne(command({ type: 'agent', id: 'agent-ws-big' }));
    const pushed = (await reader.next('pushed command')) as { commands: { document_id: string }[] };
    assert.deepEqual(
      pushed.commands.map((c) => c.document_id),
      [id],
    );
    const beforeCase = await snapshot();
    reader.ws.send(JSON.stringify({ type: 'result', document_id: id, code: 0, message: over }));
    const closed = await reader.whenClosed();
    assert.equal(closed.code, 1009);
    // The unacked command goes back to pending, not lost; its result was not recorded.
    await eventually(async () => ((await statusOf(id)) === 'pending' ? true : undefined), 'back to pending');
    assert.deepEqual(
      (await historyOf(id)).map((e) => e.to),
      ['pending', 'sent', 'pending'],
    );
    assert.equal(((await h.admin('GET', `/api/v1/commands/${id}`)).body as { result?: unknown }).result, undefined);
    const afterCase = await snapshot();
    assert.deepEqual(afterCase.commands, beforeCase.commands);
    assert.deepEqual(afterCase.agents, beforeCase.agents);
    const m = (s: Snapshot, key: string) => s.metrics[key];
    assert.equal(m(afterCase, 'courier_commands{status="pending"}'), m(beforeCase, 'courier_commands{status="pending"}')! + 1);
    assert.equal(m(afterCase, 'courier_commands{status="sent"}'), m(beforeCase, 'courier_commands{status="sent"}')! - 1);
    for (const status of ['delivered', 'success', 'failure', 'timed_out', 'cancelled']) {
      assert.equal(m(afterCase, `courier_commands{status="${status}"}`), m(beforeCase, `courier_commands{status="${status}"}`), status);
    }
    assert.equal(m(afterCase, 'courier_subscriptions{mode="websocket"}'), 0);
  });
});

// ---- ids of every length the schemas accept -----------------------------------------------

describe('ids up to the accepted 256 characters', () => {
  test('a command created with a 200-character document_id can be read, traced and cancelled', async () => {
    const long = `c${'0'.repeat(199)}`;
    const [created] = await h.send([{ ...command({ type: 'agent', id: 'agent-a' }), document_id: long }]);
    assert.equal(created?.document_id, long);
    const read = await h.admin('GET', `/api/v1/commands/${long}`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    const history = await h.admin('GET', `/api/v1/commands/${long}/history`);
    assert.equal(history.status, 200, JSON.stringify(history.body));
    const cancel = await h.admin('POST', `/api/v1/commands/${long}/cancel`);
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  });

  test('an agent registered with a 200-character id can be read and removed', async () => {
    const long = `a${'0'.repeat(199)}`;
    const created = await h.admin('POST', '/api/v1/agents', { id: long });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const read = await h.admin('GET', `/api/v1/agents/${long}`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    const removed = await h.admin('DELETE', `/api/v1/agents/${long}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
  });
});

// ---- HEAD on the long-poll routes --------------------------------------------------------

/** A HEAD request: a response to it never carries a body. */
function head(target: { url: string } | { socketPath: string }, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const where =
      'url' in target
        ? (() => {
            const u = new URL(target.url);
            return { hostname: u.hostname, port: u.port };
          })()
        : { socketPath: target.socketPath };
    const req = httpRequest({ ...where, path, method: 'HEAD', headers }, (res) => {
      res.resume();
      res.on('end', () => resolvePromise(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HEAD on a long-poll route', () => {
  test("agents API: a HEAD request does not take the agent's commands (they would be marked delivered with no body sent)", async () => {
    const token = await h.agentToken('agent-head');
    const id = await sendOne(command({ type: 'agent', id: 'agent-head' }));
    const status = await head({ url: h.url }, '/api/v1/commands', { authorization: `Bearer ${token}` });
    assert.ok(status >= 400 && status < 500, `HEAD /api/v1/commands answered ${status}`);
    assert.equal(await statusOf(id), 'pending');
    assert.deepEqual(
      (await historyOf(id)).map((e) => e.to),
      ['pending'],
    );
  });

  test("admin socket: a HEAD component poll does not take the component's commands", async () => {
    const id = await sendOne(command({ type: 'server', id: 'mod-head' }));
    const status = await head({ socketPath: h.courier.socket }, '/api/v1/commands?target_type=server&target_id=mod-head');
    assert.ok(status >= 400 && status < 500, `HEAD /api/v1/commands answered ${status}`);
    assert.equal(await statusOf(id), 'pending');
    assert.deepEqual(
      (await historyOf(id)).map((e) => e.to),
      ['pending'],
    );
  });
});

// ---- a client that vanishes mid-request ----------------------------------------------------

describe('a client that vanishes mid-request', () => {
  test('a long-poll whose socket is destroyed: a command sent afterwards stays pending, then a normal poll gets it', async () => {
    const token = await h.agentToken('agent-v');
    const longPolls = async () => (await metrics())['courier_subscriptions{mode="long-poll"}'];
    assert.equal(await longPolls(), 0);

    const url = new URL(h.url);
    const socket: Socket = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((resolvePromise, reject) => {
      socket.once('connect', resolvePromise);
      socket.once('error', reject);
    });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(`GET /api/v1/commands HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await eventually(async () => ((await longPolls()) === 1 ? true : undefined), 'the long-poll to be held');
    socket.destroy();
    await eventually(async () => ((await longPolls()) === 0 ? true : undefined), 'the server to notice the client is gone');
    assert.equal(Buffer.concat(received).length, 0, 'nothing was answered before the client left');

    const [created] = await h.send([command({ type: 'agent', id: 'agent-v' })]);
    assert.equal(created?.status, 'pending');
    const id = created.document_id;
    assert.equal(await statusOf(id), 'pending');
    assert.deepEqual(
      (await historyOf(id)).map((e) => [e.from, e.to]),
      [[null, 'pending']],
      'never handed to the vanished client',
    );

    assert.deepEqual(await pollOnce(token), [id]);
    await eventually(async () => ((await statusOf(id)) === 'delivered' ? true : undefined), 'delivered to the normal poll');
    assert.deepEqual(
      (await historyOf(id)).map((e) => e.to),
      ['pending', 'sent', 'delivered'],
    );
  });

  test('a result request whose client vanishes after sending half its body records nothing', async () => {
    const token = await h.agentToken('agent-v2');
    const id = await sendOne(command({ type: 'agent', id: 'agent-v2' }));
    const beforeCase = await snapshot();
    const trail = await historyOf(id);
    const url = new URL(h.url);
    const body = JSON.stringify({ results: [{ document_id: id, code: 0, message: 'done' }] });
    const socket: Socket = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((resolvePromise, reject) => {
      socket.once('connect', resolvePromise);
      socket.once('error', reject);
    });
    const closed = new Promise<void>((resolvePromise) => socket.once('close', () => resolvePromise()));
    socket.write(
      `POST /api/v1/commands/results HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, body.length - 10)}`,
    );
    socket.destroy();
    await closed;
    // The server is still serving, and the command is as it was.
    assert.equal((await h.http('GET', '/healthz')).status, 200);
    assert.deepEqual(await snapshot(), beforeCase);
    assert.equal(await statusOf(id), 'pending');
    assert.deepEqual(await historyOf(id), trail);
  });
});
