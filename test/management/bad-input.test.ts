import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * The bad-input table of the management API: every route fed requests it must refuse. Each case
 * expects a status and an error `code`, a body of exactly `{"message","code"}` with a message that
 * says what was wrong, and that nothing changed: every command with its status, the whole audit
 * trail, the agents and the keys are compared before and after.
 */

interface Case {
  name: string;
  method: string;
  path: string;
  /** A string is sent as is (with content-type application/json unless headers say otherwise). */
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** Words the message must contain (case-insensitive). */
  mentions?: string[];
}

interface Fixture {
  /** A pending command. */
  doc: string;
  request: string;
}

/** Placeholders in case paths, filled in once the fixture exists. */
const f: Fixture = { doc: '{doc}', request: '{request}' };

const LONG = { timeout: 3600 };
const long = (n: number, c = 'x') => c.repeat(n);

const V = 'COURIER_ERR_VALIDATION';
const goodCommand = () => command({ type: 'agent', id: 'bi-1' }, 'restart', LONG);

function cases(): Case[] {
  const commandWith = (patch: object) => ({ commands: [{ ...goodCommand(), ...patch }] });
  const list: Case[] = [
    // ---- POST /api/v1/commands
    { name: 'malformed JSON', method: 'POST', path: '/api/v1/commands', body: '{"commands": [', status: 400, code: 'COURIER_ERR_MALFORMED_JSON' },
    { name: 'empty JSON body', method: 'POST', path: '/api/v1/commands', body: '', status: 400, code: 'COURIER_ERR_MALFORMED_JSON' },
    {
      name: 'text/plain body',
      method: 'POST',
      path: '/api/v1/commands',
      body: JSON.stringify({ commands: [goodCommand()] }),
      headers: { 'content-type': 'text/plain' },
      status: 415,
      code: 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE',
    },
    { name: 'a JSON array', method: 'POST', path: '/api/v1/commands', body: [goodCommand()], status: 400, code: V },
    { name: 'commands not an array', method: 'POST', path: '/api/v1/commands', body: { commands: 'restart' }, status: 400, code: V, mentions: ['commands'] },
    { name: 'no commands', method: 'POST', path: '/api/v1/commands', body: { commands: [] }, status: 400, code: 'COURIER_ERR_NO_COMMANDS' },
    { name: 'missing commands', method: 'POST', path: '/api/v1/commands', body: {}, status: 400, code: V, mentions: ['commands'] },
    { name: 'unknown top-level field', method: 'POST', path: '/api/v1/commands', body: { commands: [goodCommand()], force: true }, status: 400, code: V, mentions: ['force'] },
    { name: 'timeout as a string', method: 'POST', path: '/api/v1/commands', body: commandWith({ timeout: '100' }), status: 400, code: V, mentions: ['timeout'] },
    { name: 'timeout 0', method: 'POST', path: '/api/v1/commands', body: commandWith({ timeout: 0 }), status: 400, code: V, mentions: ['timeout'] },
    { name: 'timeout fractional', method: 'POST', path: '/api/v1/commands', body: commandWith({ timeout: 1.5 }), status: 400, code: V, mentions: ['timeout'] },
    {
      name: 'unknown target type',
      method: 'POST',
      path: '/api/v1/commands',
      body: commandWith({ target: { type: 'planet', id: 'bi-1' } }),
      status: 400,
      code: V,
      mentions: ['target'],
    },
    {
      name: 'target id with a space',
      method: 'POST',
      path: '/api/v1/commands',
      body: commandWith({ target: { type: 'agent', id: 'bi 1' } }),
      status: 400,
      code: V,
      mentions: ['target'],
    },
    {
      name: 'over-long target id',
      method: 'POST',
      path: '/api/v1/commands',
      body: commandWith({ target: { type: 'agent', id: long(257) } }),
      status: 400,
      code: V,
      mentions: ['target'],
    },
    { name: 'action not an object', method: 'POST', path: '/api/v1/commands', body: commandWith({ action: 'restart' }), status: 400, code: V, mentions: ['action'] },
    {
      name: 'set-group without groups',
      method: 'POST',
      path: '/api/v1/commands',
      body: commandWith({ action: { name: 'set-group', args: {}, version: '5.0.0' } }),
      status: 400,
      code: V,
      mentions: ['groups'],
    },
    { name: 'unknown field in a command', method: 'POST', path: '/api/v1/commands', body: commandWith({ priority: 1 }), status: 400, code: V, mentions: ['priority'] },
    {
      name: 'unknown agent',
      method: 'POST',
      path: '/api/v1/commands',
      body: commandWith({ target: { type: 'agent', id: 'ghost' } }),
      status: 400,
      code: 'COURIER_ERR_UNKNOWN_AGENT',
      mentions: ['ghost'],
    },
    {
      name: 'empty group',
      method: 'POST',
      path: '/api/v1/commands',
      body: commandWith({ target: { type: 'group', id: 'nobody' } }),
      status: 400,
      code: 'COURIER_ERR_EMPTY_GROUP',
      mentions: ['nobody'],
    },
    {
      name: 'one good and one unknown agent: nothing is created',
      method: 'POST',
      path: '/api/v1/commands',
      body: { commands: [goodCommand(), command({ type: 'agent', id: 'ghost' }, 'restart', LONG)] },
      status: 400,
      code: 'COURIER_ERR_UNKNOWN_AGENT',
    },
    { name: 'unknown query parameter', method: 'POST', path: '/api/v1/commands?dry_run=true', body: { commands: [goodCommand()] }, status: 400, code: V, mentions: ['dry_run'] },

    // ---- GET /api/v1/commands/:id, /history, POST /cancel
    { name: 'unknown command', method: 'GET', path: '/api/v1/commands/no-such-command', status: 404, code: 'COURIER_ERR_COMMAND_NOT_FOUND', mentions: ['no-such-command'] },
    { name: 'unknown command history', method: 'GET', path: '/api/v1/commands/no-such-command/history', status: 404, code: 'COURIER_ERR_COMMAND_NOT_FOUND' },
    { name: 'cancel an unknown command', method: 'POST', path: '/api/v1/commands/no-such-command/cancel', status: 404, code: 'COURIER_ERR_COMMAND_NOT_FOUND' },
    { name: 'command id with a space', method: 'GET', path: '/api/v1/commands/bad%20id', status: 400, code: V, mentions: ['document_id'] },
    { name: 'over-long command id (257)', method: 'GET', path: `/api/v1/commands/${long(257)}`, status: 400, code: V, mentions: ['document_id'] },
    { name: 'over-long command id (2000)', method: 'GET', path: `/api/v1/commands/${long(2000)}`, status: 400, code: V },
    { name: 'over-long id in history', method: 'GET', path: `/api/v1/commands/${long(257)}/history`, status: 400, code: V },
    { name: 'over-long id in cancel', method: 'POST', path: `/api/v1/commands/${long(257)}/cancel`, status: 400, code: V },
    { name: 'bad percent-encoding', method: 'GET', path: '/api/v1/commands/%E0%A4%A', status: 400, code: V },
    { name: 'unknown query parameter on a command', method: 'GET', path: `/api/v1/commands/${f.doc}?verbose=1`, status: 400, code: V, mentions: ['verbose'] },
    { name: 'unknown query parameter on history', method: 'GET', path: `/api/v1/commands/${f.doc}/history?limit=1`, status: 400, code: V, mentions: ['limit'] },
    { name: 'unknown query parameter on cancel', method: 'POST', path: `/api/v1/commands/${f.doc}/cancel?force=1`, status: 400, code: V, mentions: ['force'] },

    // ---- GET /api/v1/requests/:id
    { name: 'unknown request', method: 'GET', path: '/api/v1/requests/no-such-request', status: 404, code: 'COURIER_ERR_REQUEST_NOT_FOUND', mentions: ['no-such-request'] },
    { name: 'over-long request id', method: 'GET', path: `/api/v1/requests/${long(257)}`, status: 400, code: V, mentions: ['request_id'] },
    { name: 'request: unknown parameter', method: 'GET', path: `/api/v1/requests/${f.request}?status=pending`, status: 400, code: V, mentions: ['status'] },
    { name: 'request: non-numeric cursor', method: 'GET', path: `/api/v1/requests/${f.request}?cursor=abc`, status: 400, code: V, mentions: ['cursor'] },

    // ---- GET /api/v1/agents
    { name: 'agents: unknown parameter', method: 'GET', path: '/api/v1/agents?state=connected', status: 400, code: V, mentions: ['state'] },
    { name: 'agents: unknown connection', method: 'GET', path: '/api/v1/agents?connection=online', status: 400, code: V, mentions: ['connection'] },
    { name: 'agents: group not an id', method: 'GET', path: '/api/v1/agents?group=a%20b', status: 400, code: V, mentions: ['group'] },
    { name: 'agents: empty prefix', method: 'GET', path: '/api/v1/agents?q=', status: 400, code: V, mentions: ['q'] },

    // ---- GET /api/v1/requests
    { name: 'requests: cursor not issued', method: 'GET', path: '/api/v1/requests?cursor=abc', status: 400, code: V, mentions: ['cursor'] },
    { name: 'requests: malformed time', method: 'GET', path: '/api/v1/requests?from=yesterday', status: 400, code: V, mentions: ['from'] },
    { name: 'requests: unknown target type', method: 'GET', path: '/api/v1/requests?target_type=planet', status: 400, code: V, mentions: ['target_type'] },
    { name: 'requests: no status filter', method: 'GET', path: '/api/v1/requests?status=pending', status: 400, code: V, mentions: ['status'] },
    { name: 'agents: over-long cursor', method: 'GET', path: `/api/v1/agents?cursor=${long(65)}`, status: 400, code: V, mentions: ['cursor'] },

    // ---- POST /api/v1/agents
    { name: 'register: malformed JSON', method: 'POST', path: '/api/v1/agents', body: '{"id":', status: 400, code: 'COURIER_ERR_MALFORMED_JSON' },
    { name: 'register: missing id', method: 'POST', path: '/api/v1/agents', body: { groups: ['linux'] }, status: 400, code: V, mentions: ['id'] },
    { name: 'register: id a number', method: 'POST', path: '/api/v1/agents', body: { id: 42 }, status: 400, code: V, mentions: ['id'] },
    { name: 'register: id with a slash', method: 'POST', path: '/api/v1/agents', body: { id: 'a/b' }, status: 400, code: V, mentions: ['id'] },
    { name: 'register: over-long id', method: 'POST', path: '/api/v1/agents', body: { id: long(257) }, status: 400, code: V, mentions: ['id'] },
    { name: 'register: groups not an array', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-new', groups: 'linux' }, status: 400, code: V, mentions: ['groups'] },
    { name: 'register: duplicate groups', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-new', groups: ['a', 'a'] }, status: 400, code: V, mentions: ['groups'] },
    { name: 'register: invalid group name', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-new', groups: ['bad group'] }, status: 400, code: V, mentions: ['groups'] },
    { name: 'register: short key', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-new', key: 'short' }, status: 400, code: V, mentions: ['key'] },
    { name: 'register: unknown field', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-new', os: 'linux' }, status: 400, code: V, mentions: ['os'] },
    {
      name: 'register: an existing agent',
      method: 'POST',
      path: '/api/v1/agents',
      body: { id: 'bi-1', groups: ['other'] },
      status: 409,
      code: 'COURIER_ERR_AGENT_EXISTS',
      mentions: ['bi-1'],
    },
    { name: 'register: replace not a boolean', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-1', replace: 1 }, status: 400, code: V, mentions: ['replace'] },
    { name: 'register: name of control characters', method: 'POST', path: '/api/v1/agents', body: { id: 'bi-new', name: '\u001b[31m' }, status: 400, code: V, mentions: ['name'] },

    // ---- /api/v1/enrollment-tokens
    { name: 'token: malformed JSON', method: 'POST', path: '/api/v1/enrollment-tokens', body: '{"groups":', status: 400, code: 'COURIER_ERR_MALFORMED_JSON' },
    { name: 'token: unknown field', method: 'POST', path: '/api/v1/enrollment-tokens', body: { groups: ['linux'], uses: 3 }, status: 400, code: V, mentions: ['uses'] },
    { name: 'token: max_uses 0', method: 'POST', path: '/api/v1/enrollment-tokens', body: { groups: ['linux'], max_uses: 0 }, status: 400, code: V, mentions: ['max_uses'] },
    {
      name: 'token: expires_in not a duration',
      method: 'POST',
      path: '/api/v1/enrollment-tokens',
      body: { groups: ['linux'], expires_in: 'later' },
      status: 400,
      code: V,
      mentions: ['expires_in'],
    },
    {
      name: 'token: expires_in over a year',
      method: 'POST',
      path: '/api/v1/enrollment-tokens',
      body: { groups: ['linux'], expires_in: '9000h' },
      status: 400,
      code: V,
      mentions: ['expires_in'],
    },
    { name: 'token: invalid group name', method: 'POST', path: '/api/v1/enrollment-tokens', body: { groups: ['a b'] }, status: 400, code: V, mentions: ['groups'] },
    { name: 'tokens: unknown query parameter', method: 'GET', path: '/api/v1/enrollment-tokens?status=active', status: 400, code: V, mentions: ['status'] },
    {
      name: 'revoke an unknown token',
      method: 'DELETE',
      path: '/api/v1/enrollment-tokens/ffffffffffffffff',
      status: 404,
      code: 'COURIER_ERR_ENROLLMENT_TOKEN_NOT_FOUND',
      mentions: ['ffffffffffffffff'],
    },
    { name: 'revoke: not a token id', method: 'DELETE', path: '/api/v1/enrollment-tokens/linux', status: 400, code: V, mentions: ['id'] },

    // ---- /api/v1/keys
    { name: 'key: malformed JSON', method: 'POST', path: '/api/v1/keys', body: '{"role":', status: 400, code: 'COURIER_ERR_MALFORMED_JSON' },
    { name: 'key: unknown field', method: 'POST', path: '/api/v1/keys', body: { role: 'operator', expires: '1h' }, status: 400, code: V, mentions: ['expires'] },
    { name: 'key: role not a string', method: 'POST', path: '/api/v1/keys', body: { role: 1 }, status: 400, code: V, mentions: ['role'] },
    { name: 'key: scopes not a list', method: 'POST', path: '/api/v1/keys', body: { role: 'operator', scopes: 'group:linux' }, status: 400, code: V, mentions: ['scopes'] },
    { name: 'key: a bad scope', method: 'POST', path: '/api/v1/keys', body: { role: 'operator', scopes: ['linux'] }, status: 400, code: V, mentions: ['scope'] },
    { name: 'key: expires_in as text', method: 'POST', path: '/api/v1/keys', body: { role: 'operator', expires_in: '3600' }, status: 400, code: V, mentions: ['expires_in'] },
    { name: 'key: expires_in 0', method: 'POST', path: '/api/v1/keys', body: { role: 'operator', expires_in: 0 }, status: 400, code: V, mentions: ['expires_in'] },
    { name: 'key: expires_at not a time', method: 'POST', path: '/api/v1/keys', body: { role: 'operator', expires_at: 'soon' }, status: 400, code: V, mentions: ['expires_at'] },
    {
      name: 'key: expires_at in the past',
      method: 'POST',
      path: '/api/v1/keys',
      body: { role: 'operator', expires_at: '2001-01-01T00:00:00Z' },
      status: 400,
      code: V,
      mentions: ['expires_at', 'future'],
    },
    {
      name: 'key: both expiry fields',
      method: 'POST',
      path: '/api/v1/keys',
      body: { role: 'operator', expires_at: '2099-01-01T00:00:00Z', expires_in: 60 },
      status: 400,
      code: V,
      mentions: ['expires_at', 'expires_in', 'not both'],
    },
    { name: 'keys: unknown query parameter', method: 'GET', path: '/api/v1/keys?status=active', status: 400, code: V, mentions: ['status'] },
    { name: 'revoke an unknown key', method: 'DELETE', path: '/api/v1/keys/ffffffffffffffff', status: 404, code: 'COURIER_ERR_API_KEY_NOT_FOUND', mentions: ['ffffffffffffffff'] },
    { name: 'revoke: not a key id', method: 'DELETE', path: '/api/v1/keys/alice', status: 400, code: V, mentions: ['id'] },

    // ---- DELETE /api/v1/agents/:id
    { name: 'remove an unknown agent', method: 'DELETE', path: '/api/v1/agents/ghost', status: 404, code: 'COURIER_ERR_AGENT_NOT_FOUND', mentions: ['ghost'] },
    { name: 'remove: over-long id', method: 'DELETE', path: `/api/v1/agents/${long(257)}`, status: 400, code: V },
    { name: 'remove: id with a space', method: 'DELETE', path: '/api/v1/agents/bi%201', status: 400, code: V },
    { name: 'remove: unknown query parameter', method: 'DELETE', path: '/api/v1/agents/bi-del?purge=true', status: 400, code: V, mentions: ['purge'] },

    // ---- PUT /api/v1/agents/:id/restart
    { name: 'restart: over-long id', method: 'PUT', path: `/api/v1/agents/${long(257)}/restart`, status: 400, code: V },
    { name: 'restart: id with a space', method: 'PUT', path: '/api/v1/agents/bi%201/restart', status: 400, code: V },
    { name: 'restart: unknown query parameter', method: 'PUT', path: '/api/v1/agents/bi-1/restart?agents_list=bi-2', status: 400, code: V, mentions: ['agents_list'] },

    // ---- PUT /api/v1/agents/restart
    { name: 'restart list: unknown parameter', method: 'PUT', path: '/api/v1/agents/restart?agents_list=bi-1&wait=true', status: 400, code: V, mentions: ['wait'] },
    { name: 'restart list: repeated parameter', method: 'PUT', path: '/api/v1/agents/restart?agents_list=bi-1&agents_list=bi-2', status: 400, code: V, mentions: ['agents_list'] },
    { name: 'restart list: over-long list', method: 'PUT', path: `/api/v1/agents/restart?agents_list=${long(100_001, 'a')}`, status: 400, code: V, mentions: ['agents_list'] },

    // ---- PUT /api/v1/agents/group
    { name: 'set-group: missing group_id', method: 'PUT', path: '/api/v1/agents/group?agents_list=bi-1', status: 400, code: V, mentions: ['group_id'] },
    { name: 'set-group: empty group_id', method: 'PUT', path: '/api/v1/agents/group?agents_list=bi-1&group_id=', status: 400, code: V, mentions: ['group_id'] },
    { name: 'set-group: group_id with a space', method: 'PUT', path: '/api/v1/agents/group?agents_list=bi-1&group_id=bad%20group', status: 400, code: V, mentions: ['group_id'] },
    { name: 'set-group: group_id with a slash', method: 'PUT', path: '/api/v1/agents/group?agents_list=bi-1&group_id=a%2Fb', status: 400, code: V, mentions: ['group_id'] },
    { name: 'set-group: over-long group_id', method: 'PUT', path: `/api/v1/agents/group?agents_list=bi-1&group_id=${long(257)}`, status: 400, code: V, mentions: ['group_id'] },
    { name: 'set-group: missing agents_list', method: 'PUT', path: '/api/v1/agents/group?group_id=linux', status: 400, code: V, mentions: ['agents_list'] },
    { name: 'set-group: empty agents_list', method: 'PUT', path: '/api/v1/agents/group?agents_list=&group_id=linux', status: 400, code: V, mentions: ['agents_list'] },
    { name: 'set-group: unknown parameter', method: 'PUT', path: '/api/v1/agents/group?agents_list=bi-1&group_id=linux&force=1', status: 400, code: V, mentions: ['force'] },
  ];

  // ---- the list routes: the same bad paging and filters on each
  const listRoutes = ['/api/v1/commands', '/api/v1/audit', '/api/v1/requests', `/api/v1/requests/${f.request}`, '/api/v1/agents'];
  for (const route of listRoutes) {
    for (const limit of ['0', '1001', 'abc', '-1', '1.5', '', '1e3', '0x10']) {
      list.push({ name: `${route}: limit=${limit}`, method: 'GET', path: `${route}?limit=${limit}`, status: 400, code: V, mentions: ['limit'] });
    }
    list.push({ name: `${route}: limit twice`, method: 'GET', path: `${route}?limit=5&limit=6`, status: 400, code: V, mentions: ['limit'] });
    list.push({ name: `${route}: unknown parameter`, method: 'GET', path: `${route}?sort=desc`, status: 400, code: V, mentions: ['sort'] });
    list.push({ name: `${route}: over-long cursor`, method: 'GET', path: `${route}?cursor=${long(65, '1')}`, status: 400, code: V, mentions: ['cursor'] });
  }
  const filtered = ['/api/v1/commands', '/api/v1/audit', '/api/v1/events/stream'];
  for (const route of filtered) {
    const bad: [string, string][] = [
      ['status=bogus', 'status'],
      ['status=PENDING', 'status'],
      ['status=pending,', 'status'],
      ['status=pending,,success', 'status'],
      ['status=', 'status'],
      ['target_type=planet', 'target_type'],
      ['agent=', 'agent'],
      [`agent=${long(257)}`, 'agent'],
      [`action=${long(257)}`, 'action'],
      ['from=yesterday', 'from'],
      ['from=2024-13-01T00:00:00Z', 'from'],
      ['from=2024-02-30T00:00:00Z', 'from'],
      ['from=2024-01-01T25:00:00Z', 'from'],
      ['from=1700000000000', 'from'],
      ['to=not-a-date', 'to'],
      ['to=2024-01-01', 'to'],
      ['unknown=1', 'unknown'],
    ];
    for (const [query, field] of bad) list.push({ name: `${route}?${query}`, method: 'GET', path: `${route}?${query}`, status: 400, code: V, mentions: [field] });
  }
  for (const route of ['/api/v1/audit', '/api/v1/events/stream']) {
    list.push({ name: `${route}?kind=bogus`, method: 'GET', path: `${route}?kind=bogus`, status: 400, code: V, mentions: ['kind'] });
    list.push({ name: `${route}?actor=`, method: 'GET', path: `${route}?actor=`, status: 400, code: V, mentions: ['actor'] });
  }
  list.push({ name: 'stream: limit is not a parameter', method: 'GET', path: '/api/v1/events/stream?limit=10', status: 400, code: V, mentions: ['limit'] });
  list.push({ name: 'stream: non-numeric last_event_id', method: 'GET', path: '/api/v1/events/stream?last_event_id=abc', status: 400, code: V, mentions: ['last_event_id'] });
  list.push({ name: 'stream: negative last_event_id', method: 'GET', path: '/api/v1/events/stream?last_event_id=-1', status: 400, code: V, mentions: ['last_event_id'] });
  for (const route of ['/api/v1/commands', '/api/v1/audit']) {
    list.push({ name: `${route}: non-numeric cursor`, method: 'GET', path: `${route}?cursor=abc`, status: 400, code: V, mentions: ['cursor'] });
    list.push({ name: `${route}: fractional cursor`, method: 'GET', path: `${route}?cursor=1.5`, status: 400, code: V, mentions: ['cursor'] });
  }
  return list;
}

describe('management API: bad input', () => {
  let h: Harness;
  let key: string;
  const fx = {} as Fixture;

  before(async () => {
    h = await startHarness();
    key = await h.createKey('admin', [], 'bad-input-admin');
    await h.addAgent('bi-1', ['linux']);
    await h.addAgent('bi-2', ['linux']);
    await h.addAgent('bi-del');
    assert.equal((await h.admin('POST', '/api/v1/enrollment-tokens', { groups: ['linux'], max_uses: 3 })).status, 201);
    const created = await h.send([goodCommand(), command({ type: 'group', id: 'linux' }, 'fetch-config', LONG)]);
    fx.doc = created[0]!.document_id;
    fx.request = ((await h.admin('GET', `/api/v1/commands/${fx.doc}`)).body as { request_id: string }).request_id;
    // A delivered-and-answered command and a cancelled one, so the trail has every kind of record.
    const token = (await h.http('POST', '/api/v1/authentication', { body: { uuid: 'bi-3', key: await h.addAgent('bi-3') } })).body as { token: string };
    const [done] = await h.send([command({ type: 'agent', id: 'bi-3' }, 'restart', LONG)]);
    await h.http('GET', '/api/v1/commands', { token: token.token });
    await h.http('POST', '/api/v1/commands/results', { token: token.token, body: { results: [{ document_id: done!.document_id, code: 0, message: 'ok' }] } });
    await eventually(
      async () => (((await h.admin('GET', `/api/v1/commands/${done!.document_id}`)).body as { status: string }).status === 'success' ? true : undefined),
      'the result',
    );
    const [cancelled] = await h.send([command({ type: 'agent', id: 'bi-2' }, 'update', LONG)]);
    assert.equal((await h.admin('POST', `/api/v1/commands/${cancelled!.document_id}/cancel`)).status, 200);
  });
  after(() => h.stop());

  async function all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await h.mgmt('GET', `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key });
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      const body = res.body as { items: T[]; next: string | null };
      items.push(...body.items);
      if (!body.next) return items;
      cursor = body.next;
    }
  }

  /**
   * Calls the management API. An answer that turns out to be an event stream (a bad query the
   * stream route accepted) is cut at its head, so that a wrong acceptance fails the case, not the run.
   */
  function call(c: Pick<Case, 'method' | 'path' | 'body' | 'headers'>): Promise<{ status: number; body: unknown }> {
    const url = new URL(c.path, h.courier.managementUrl);
    const payload = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    const headers: Record<string, string | number> = { authorization: `Bearer ${key}` };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    Object.assign(headers, c.headers);
    return new Promise((resolve, reject) => {
      // A connection of its own (no keep-alive pool): a request the server drops cannot spoil the next one.
      const req = request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method: c.method, headers, agent: false }, (res) => {
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, body: '(an event stream)' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: kept as text, and the case fails on its shape
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Everything a refused request must leave as it was. */
  async function snapshot() {
    const commands = (await all<{ document_id: string; status: string }>('/api/v1/commands')).map((c) => `${c.document_id}:${c.status}`).sort();
    const audit = (await all<{ id: string }>('/api/v1/audit')).map((a) => JSON.stringify(a));
    const agents = (await all<{ id: string; groups: string[] }>('/api/v1/agents')).map((a) => `${a.id}:${a.groups.join('|')}`);
    const keys = ((await h.admin('GET', '/api/v1/keys')).body as { items: { id: string; revoked_at: string | null }[] }).items.map((k) => `${k.id}:${k.revoked_at}`);
    const tokens = ((await h.admin('GET', '/api/v1/enrollment-tokens')).body as { tokens: unknown[] }).tokens.map((t) => JSON.stringify(t));
    return { commands, audit, agents, keys, tokens };
  }

  const fill = (path: string) => path.replaceAll(f.doc, fx.doc).replaceAll(f.request, fx.request);
  const title = (c: Case) => {
    const path = c.path.length > 90 ? `${c.path.slice(0, 60)}...(${c.path.length} chars)` : c.path;
    return `${c.method} ${path} [${c.name}] -> ${c.status} ${c.code}`;
  };

  for (const c of cases()) {
    test(title(c), async () => {
      const before = await snapshot();
      const path = fill(c.path);
      const res = await call({ ...c, path }).catch((error: unknown) => ({ status: 0, body: `request failed: ${String(error)}` }));
      const shown = JSON.stringify(res.body)?.slice(0, 300);
      assert.equal(res.status, c.status, shown);
      const body = res.body as { message?: unknown; code?: unknown } | null;
      assert.ok(body !== null && typeof body === 'object', `not a JSON object: ${shown}`);
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message'], shown);
      assert.equal(body.code, c.code, shown);
      assert.equal(typeof body.message, 'string');
      assert.ok((body.message as string).length > 0);
      for (const word of c.mentions ?? []) {
        assert.ok((body.message as string).toLowerCase().includes(word.toLowerCase()), `the message does not name "${word}": ${shown}`);
      }
      const after = await snapshot();
      assert.deepEqual(after.commands, before.commands, 'commands changed');
      assert.deepEqual(after.audit, before.audit, 'the audit trail changed');
      assert.deepEqual(after.agents, before.agents, 'agents changed');
      assert.deepEqual(after.keys, before.keys, 'keys changed');
      assert.deepEqual(after.tokens, before.tokens, 'enrollment tokens changed');
    });
  }

  test('the page size the OpenAPI document declares is the one the list routes take', async () => {
    type Doc = { paths: Record<string, { get?: { parameters?: { name: string; in: string; schema: { pattern?: string } }[] } }> };
    const doc = (await h.mgmt('GET', '/api/v1/openapi.json')).body as Doc;
    for (const route of ['/api/v1/commands', '/api/v1/audit', '/api/v1/requests/{request_id}', '/api/v1/agents']) {
      const pattern = doc.paths[route]?.get?.parameters?.find((p) => p.in === 'query' && p.name === 'limit')?.schema.pattern;
      assert.ok(pattern, `${route}: limit has no pattern`);
      for (const limit of ['0', '000', '1', '010', '999', '1000', '01000', '1001', '999999']) {
        const documented = new RegExp(pattern).test(limit);
        const res = await h.mgmt('GET', `${route.replace('{request_id}', fx.request)}?limit=${limit}`, { key });
        assert.equal(res.status, documented ? 200 : 400, `${route}?limit=${limit}: documented as ${documented ? 'valid' : 'invalid'}: ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
  });

  test('agents_list naming unknown agents: each is reported in failed_items, no command is made for it', async () => {
    const ghosts = ['ghost-1', 'ghost-2'];
    for (const path of [
      `/api/v1/agents/restart?agents_list=${ghosts.join(',')}`,
      `/api/v1/agents/group?agents_list=${ghosts.join(',')}&group_id=linux`,
      '/api/v1/agents/ghost-1/restart',
    ]) {
      const before = await snapshot();
      const res = await h.mgmt('PUT', path, { key });
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      const body = res.body as {
        data: { affected_items: string[]; failed_items: { id: string; error: { code: string; message: string } }[]; total_failed_items: number; request_id: string | null };
        error: number;
      };
      const expected = path.includes('ghost-1/restart') ? ['ghost-1'] : ghosts;
      assert.deepEqual(body.data.affected_items, []);
      assert.deepEqual(
        body.data.failed_items.map((i) => i.id),
        expected,
      );
      assert.equal(body.data.total_failed_items, expected.length);
      for (const item of body.data.failed_items) {
        assert.equal(item.error.code, 'COURIER_ERR_AGENT_NOT_FOUND');
        assert.ok(item.error.message.includes(item.id));
      }
      assert.equal(body.data.request_id, null);
      assert.notEqual(body.error, 0);
      assert.deepEqual(await snapshot(), before, `${path} changed something`);
    }
  });

  test('a long agents_list (500 UUID-like ids, 18.5 KB: within its declared 100,000 characters) is answered in full', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const list = ids.join(',');
    assert.ok(list.length > 16_384 && list.length < 100_000);
    const before = await snapshot();
    const res = await call({ method: 'PUT', path: `/api/v1/agents/restart?agents_list=${list}` }).catch((error: unknown) => ({ status: 0, body: String(error) }));
    assert.equal(res.status, 200, `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    const body = res.body as { data: { failed_items: { id: string }[]; affected_items: string[] } };
    assert.deepEqual(
      body.data.failed_items.map((i) => i.id),
      ids,
    );
    assert.deepEqual(body.data.affected_items, []);
    assert.deepEqual(await snapshot(), before);
  });

  test('agents_list mixing known and unknown agents: the known get a command, the unknown are failed items', async () => {
    const before = await all<{ document_id: string; agent: { id: string } }>('/api/v1/commands?agent=bi-1');
    const res = await h.mgmt('PUT', '/api/v1/agents/restart?agents_list=ghost-1,bi-1,bi-1,%20ghost-2%20', { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as { data: { affected_items: string[]; failed_items: { id: string }[]; commands: { agent_id: string; document_id: string }[] } };
    assert.deepEqual(body.data.affected_items, ['bi-1']);
    assert.deepEqual(
      body.data.failed_items.map((i) => i.id),
      ['ghost-1', 'ghost-2'],
    );
    const afterList = await all<{ document_id: string }>('/api/v1/commands?agent=bi-1');
    assert.equal(afterList.length, before.length + 1);
    assert.equal(afterList[0]!.document_id, body.data.commands[0]!.document_id);
    assert.equal((await all('/api/v1/commands?agent=ghost-1')).length, 0);
  });
});
