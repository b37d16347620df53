import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { command, startHarness, type Harness } from '../support/courier-harness.js';

/**
 * What a scoped key must not reach or learn beyond the routes' own checks (test/management/scopes.test.ts):
 * the groups a set-group moves agents into, whether an id outside its scope exists, the fleet-wide
 * metrics. And routes that do not exist answer 404 to everyone, without filling the audit trail.
 */
describe('management API: scope leaks', () => {
  let h: Harness;
  let admin: string;
  let linux: string;
  let auditorLinux: string;
  let auditor: string;
  let restartOnly: string;
  const LONG = { timeout: 3600 };

  before(async () => {
    h = await startHarness();
    await h.addAgent('lx-1', ['linux']);
    await h.addAgent('win-1', ['windows']);
    admin = await h.createKey('admin', [], 'leak-admin');
    linux = await h.createKey('operator', ['group:linux'], 'leak-linux');
    auditorLinux = await h.createKey('auditor', ['group:linux'], 'leak-auditor-linux');
    auditor = await h.createKey('auditor', [], 'leak-auditor');
    restartOnly = await h.createKey('operator', ['action:restart'], 'leak-restart');
  });
  after(() => h.stop());

  const refusals = async () => {
    const res = await h.mgmt('GET', '/api/v1/audit?kind=refusal&limit=1000', { key: admin });
    assert.equal(res.status, 200);
    return (res.body as { items: unknown[] }).items.length;
  };
  const commandsOf = async (agent: string) => ((await h.mgmt('GET', `/api/v1/commands?agent=${agent}&limit=1000`, { key: admin })).body as { items: unknown[] }).items.length;

  test('a set-group command may set only groups inside the scope, on every route', async () => {
    const setGroup = (groups: string[]) => ({
      commands: [{ ...command({ type: 'agent', id: 'lx-1' }, 'set-group', LONG), action: { name: 'set-group', args: { groups }, version: '5.0.0' } }],
    });
    const before = await commandsOf('lx-1');
    for (const groups of [['windows'], ['linux', 'windows']]) {
      const res = await h.mgmt('POST', '/api/v1/commands', { key: linux, body: setGroup(groups) });
      assert.equal(res.status, 403, `${groups}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body as { code: string }).code, 'COURIER_ERR_OUT_OF_SCOPE');
      assert.match((res.body as { message: string }).message, /group windows/);
    }
    const shortcut = await h.mgmt('PUT', '/api/v1/agents/group?agents_list=lx-1&group_id=windows', { key: linux });
    assert.equal(shortcut.status, 403, JSON.stringify(shortcut.body));
    assert.equal(await commandsOf('lx-1'), before, 'nothing was created');
    // Inside the scope it works; a key with no target scope may set any group.
    assert.equal((await h.mgmt('POST', '/api/v1/commands', { key: linux, body: setGroup(['linux']) })).status, 201);
    assert.equal((await h.mgmt('PUT', '/api/v1/agents/group?agents_list=win-1&group_id=linux', { key: admin })).status, 200);
  });

  test('a scoped key cannot tell a document_id outside its scope from an unknown one', async () => {
    const [outside] = await h.send([command({ type: 'agent', id: 'win-1' }, 'restart', LONG)]);
    const attempt = (key: string, id: string) =>
      h.mgmt('POST', '/api/v1/commands', { key, body: { commands: [command({ type: 'agent', id: 'lx-1' }, 'fetch-config', { ...LONG, document_id: id })] } });
    const before = await commandsOf('lx-1');
    const taken = await attempt(linux, outside!.document_id);
    const unknown = await attempt(linux, 'an-id-no-command-has');
    assert.equal(taken.status, unknown.status);
    assert.deepEqual(taken.body, unknown.body, 'the same answer, word for word');
    assert.equal(taken.status, 403);
    assert.equal(await commandsOf('lx-1'), before, 'nothing was created');
    // The command outside the scope is untouched, and an unrestricted key still learns of the conflict.
    assert.equal(((await h.admin('GET', `/api/v1/commands/${outside!.document_id}`)).body as { status: string }).status, 'pending');
    const conflict = await attempt(admin, outside!.document_id);
    assert.equal(conflict.status, 409);
    assert.equal((conflict.body as { code: string }).code, 'COURIER_ERR_DOCUMENT_ID_CONFLICT');
    // An action scope is a scope too: another action's command is outside it.
    const byAction = await h.mgmt('POST', '/api/v1/commands', {
      key: restartOnly,
      body: { commands: [command({ type: 'agent', id: 'lx-1' }, 'restart', { ...LONG, document_id: outside!.document_id })] },
    });
    assert.deepEqual(
      byAction.body,
      (
        await h.mgmt('POST', '/api/v1/commands', {
          key: restartOnly,
          body: { commands: [command({ type: 'agent', id: 'lx-1' }, 'restart', { ...LONG, document_id: 'another-free-id' })] },
        })
      ).body,
    );
  });

  test('the fleet-wide /metrics is refused to a scoped key (403), audited; an unscoped key reads it', async () => {
    const before = await refusals();
    for (const key of [auditorLinux, linux, restartOnly]) {
      const res = await h.mgmt('GET', '/metrics', { key });
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal((res.body as { code: string }).code, 'COURIER_ERR_OUT_OF_SCOPE');
    }
    assert.equal(await refusals(), before + 3);
    const res = await h.mgmt('GET', '/metrics', { key: auditor });
    assert.equal(res.status, 200);
    assert.match(String(res.body), /courier_commands\{status="pending"\}/);
  });

  test('an unknown route answers 404 to every key (and to none), and writes no audit row', async () => {
    const before = await refusals();
    const paths = ['/api/v1/nothing-here', '/api/v2/commands', '/admin', '/api/v1/keys/0123456789abcdef/rotate', '/api/v1/agents/lx-1/upgrade'];
    for (const key of [admin, linux, auditorLinux, auditor, restartOnly, 'courier_0123456789abcdef_not-a-real-secret-not-a-real-secret-00000', undefined]) {
      for (const path of paths) {
        for (const method of ['GET', 'POST', 'DELETE']) {
          const res = await h.mgmt(method, path, key ? { key } : {});
          assert.equal(res.status, 404, `${method} ${path} with ${key?.slice(0, 12)}: ${JSON.stringify(res.body)}`);
          assert.equal((res.body as { code: string }).code, 'COURIER_ERR_ROUTE_NOT_FOUND');
        }
      }
    }
    assert.equal(await refusals(), before, 'no audit row for a 404');
  });
});
