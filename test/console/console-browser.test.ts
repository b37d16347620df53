import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { browserTier } from '../support/browser-tier.js';
import { command, eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';

// The web console in a real headless Chromium against a running courier: every page loads and
// shows what the API holds, a command sent from the page moves to success on screen without a
// reload, roles and scopes hold as in the API. Screenshots go to COURIER_CONSOLE_SCREENSHOTS
// (`npm run console:screenshots` writes docs/console/), else to a temporary directory.

// The callbacks given to page.evaluate and waitForFunction run in the page, where these exist.
declare const document: any, window: any, sessionStorage: any;

const tier = browserTier();
const shots = process.env.COURIER_CONSOLE_SCREENSHOTS ?? tempDir('courier-console-shots-');
const restart = { action: { name: 'restart', args: {}, version: '5.0.0' }, timeout: 86_400 };
const STEP_MS = 15_000;

describe('the web console in a real browser', { skip: tier.skip }, () => {
  let h: Harness;
  let browser: Browser;
  const keys: Record<'admin' | 'auditor' | 'scoped', string> = { admin: '', auditor: '', scoped: '' };
  const agentKeys = new Map<string, string>();
  const agents: ReferenceAgent[] = [];
  let jobId = '';

  const startAgent = (id: string) => {
    const agent = new ReferenceAgent({ url: h.url, id, key: agentKeys.get(id)!, transport: 'websocket' });
    agents.push(agent);
    agent.start();
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    h = await startHarness();
    keys.admin = await h.createKey('admin', [], 'alice');
    keys.auditor = await h.createKey('auditor', [], 'audrey');
    keys.scoped = await h.createKey('operator', ['agent:web-*'], 'web-team');
    for (const [id, groups] of [
      ['web-1', ['linux', 'web']],
      ['web-2', ['linux', 'web']],
      ['db-1', ['linux', 'db']],
      ['db-2', ['linux', 'db']],
    ] as const) {
      agentKeys.set(id, await h.addAgent(id, [...groups]));
    }
    startAgent('web-1');
    startAgent('web-2');
    await eventually(async () => {
      const res = await h.mgmt('GET', '/api/v1/agents', { key: keys.admin });
      const items = (res.body as { items: { id: string; connection: string }[] }).items;
      return items.filter((a) => a.connection === 'websocket').length === 2 || undefined;
    }, 'web-1 and web-2 connected');
    const job = await h.admin('POST', '/api/v1/jobs', { name: 'refresh-db', targets: { groups: ['db'] }, steps: [restart], rollout: { max_per_minute: 1 } });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    jobId = (job.body as { job_id: string }).job_id;
    browser = await tier.launch();
  });
  after(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.stop()));
    await h?.stop();
  });

  async function signIn(key: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${h.courier.managementUrl}/console`);
    await page.fill('#api-key', key);
    await page.click('button[type=submit]');
    await page.waitForSelector('#who');
    return page;
  }
  const shoot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
  const rows = (page: Page, selector: string) => page.locator(`${selector} tbody tr`).allInnerTexts();

  test('a wrong key is refused on the sign-in form and not kept', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${h.courier.managementUrl}/console`);
    await shoot(page, 'sign-in');
    await page.fill('#api-key', 'courier_0000000000000000_notakey');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent !== '');
    assert.match(await page.locator('#login-error').innerText(), /not valid/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.context().close();
  });

  test('fleet: every agent with its connection and groups; filters by group and by connection', async () => {
    const page = await signIn(keys.admin);
    await page.waitForSelector('#fleet table');
    const all = await rows(page, '#fleet');
    assert.equal(all.length, 4);
    assert.match(
      all.find((r) => r.startsWith('web-1'))!,
      /linux, web\s+websocket/,
    );
    assert.match(
      all.find((r) => r.startsWith('db-1'))!,
      /linux, db\s+offline/,
    );
    assert.match(await page.locator('#who').innerText(), /alice · admin/);
    await shoot(page, 'fleet');
    await page.selectOption('select[aria-label=group]', 'db');
    assert.deepEqual(
      (await rows(page, '#fleet')).map((r) => r.split('\t')[0]),
      ['db-1', 'db-2'],
    );
    await page.selectOption('select[aria-label=group]', '');
    await page.selectOption('select[aria-label=connection]', 'connected');
    assert.deepEqual(
      (await rows(page, '#fleet')).map((r) => r.split('\t')[0]),
      ['web-1', 'web-2'],
    );
    await page.context().close();
  });

  test('a command sent from the fleet page: its machine moves from pending to success on screen, without a reload', async () => {
    const page = await signIn(keys.admin);
    await page.waitForSelector('[data-send="db-1"]');
    // Still the same document at the end: nothing reloaded the page.
    await page.evaluate(() => Object.assign(window, { sameDocument: 'yes' }));
    await page.click('[data-send="db-1"]');
    await page.fill('#send-panel input[aria-label=action]', 'fetch-config');
    await page.fill('#send-panel textarea', '{"reason": "console test"}');
    await page.click('#send');
    await page.waitForURL(/#\/commands\/[^/]+$/);
    const documentId = decodeURIComponent(page.url().split('#/commands/')[1]!);
    // db-1 is offline: the command waits, and the page says so.
    await page.waitForSelector('#command-status.pending');
    await page.waitForSelector('.diagram g.state.live[data-state="pending"]');
    await shoot(page, 'command-pending');
    startAgent('db-1');
    await page.waitForSelector('#command-status.success');
    await page.waitForSelector('.diagram g.state.live[data-state="success"]');
    assert.equal(await page.locator('.diagram g.state.live').count(), 1, 'one state marked');
    await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 4);
    const history = await rows(page, '#history');
    assert.deepEqual(
      history.map((r) => r.split('\t')[2]),
      ['pending', 'sent', 'delivered', 'success'],
    );
    assert.equal(await page.evaluate(() => window.sameDocument), 'yes');
    await shoot(page, 'command-success');
    const stored = await h.mgmt('GET', `/api/v1/commands/${encodeURIComponent(documentId)}`, { key: keys.admin });
    assert.deepEqual((stored.body as { action: unknown }).action, {
      name: 'fetch-config',
      args: { reason: 'console test' },
      version: (stored.body as { action: { version: string } }).action.version,
    });
    assert.equal((stored.body as { source: string }).source, 'console');

    // Its request: the counts per status.
    await page.click('#command-status ~ * a, td a[href^="#/requests/"]');
    await page.waitForSelector('#request-counts');
    assert.match(await page.locator('#request-counts').innerText(), /success 1/);
    // The commands list, filtered by agent.
    await page.goto(`${h.courier.managementUrl}/console#/commands?agent=db-1`);
    await page.waitForSelector('#commands table');
    assert.ok((await rows(page, '#commands')).some((r) => r.startsWith(documentId) && r.includes('fetch-config') && r.endsWith('success')));
    await shoot(page, 'commands');
    await page.context().close();
  });

  test('a bad input in the send form is answered by the API’s message and sends nothing', async () => {
    const page = await signIn(keys.admin);
    await page.click('[data-send="web-2"]');
    await page.fill('#send-panel textarea', '[not json');
    await page.click('#send');
    assert.match(await page.locator('#send-panel .error').innerText(), /must be a JSON object/);
    await page.fill('#send-panel textarea', '{}');
    await page.fill('#send-panel input[aria-label=timeout]', '0');
    await page.click('#send');
    await page.waitForFunction(() => (document.querySelector('#send-panel .error')?.textContent ?? '').includes('COURIER_ERR_VALIDATION'));
    const sent = await h.mgmt('GET', '/api/v1/commands?agent=web-2', { key: keys.admin });
    assert.equal((sent.body as { items: unknown[] }).items.length, 0);
    await page.context().close();
  });

  test('jobs: the list, a job’s progress per step, and pause/resume as its machine allows', async () => {
    const page = await signIn(keys.admin);
    await page.goto(`${h.courier.managementUrl}/console#/jobs`);
    await page.waitForSelector('#jobs table');
    assert.match((await rows(page, '#jobs')).join('\n'), /refresh-db/);
    await page.click(`a[href="#/jobs/${jobId}"]`);
    await page.waitForSelector('#job-status');
    await page.waitForSelector('[data-control=pause]:not([disabled])');
    assert.equal(await page.locator('[data-control=approve]').isDisabled(), true, 'no canary to approve');
    await page.click('[data-control=pause]');
    await page.waitForSelector('#job-status.paused');
    await page.waitForSelector('.diagram g.state.live[data-state="paused"]');
    assert.equal(await page.locator('[data-control=pause]').isDisabled(), true);
    assert.equal(await page.locator('[data-control=cancel]').isDisabled(), false, 'the machine takes CANCEL in any state');
    // The step's bar shows its first command (the page's CSP lets only script-set widths through).
    const widths = await page.locator('.bar span').evaluateAll((spans: any[]) => spans.map((span) => span.getBoundingClientRect().width as number));
    assert.ok(Math.max(...widths) > 0, `bar segments ${widths.join(', ')}`);
    await shoot(page, 'job');
    await page.click('[data-control=resume]');
    await page.waitForFunction(() => !document.querySelector('#job-status.paused'));
    const stored = await h.mgmt('GET', `/api/v1/jobs/${jobId}`, { key: keys.admin });
    assert.notEqual((stored.body as { status: string }).status, 'paused');
    await page.context().close();
  });

  test('audit: entries appear live as they are written', async () => {
    const page = await signIn(keys.admin);
    await page.goto(`${h.courier.managementUrl}/console#/audit`);
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.includes('live'));
    const [sent] = await h.send([command({ type: 'agent', id: 'web-1' })]);
    await page.waitForSelector(`#audit-rows a[href="#/commands/${encodeURIComponent(sent!.document_id)}"]`);
    await page.waitForFunction(
      (id: string) => [...document.querySelectorAll('#audit-rows tr')].some((tr: any) => tr.textContent?.includes(id) && tr.textContent.includes('→ success')),
      sent!.document_id,
    );
    await shoot(page, 'audit');
    await page.context().close();
  });

  test('machines: every machine drawn, the live actors’ states marked, recent events listed', async () => {
    const page = await signIn(keys.admin);
    await page.goto(`${h.courier.managementUrl}/console#/machines`);
    await page.waitForSelector('section[data-machine=indexerPoller] svg');
    assert.equal(await page.locator('section[data-machine] .diagram svg').count(), 6);
    await page.waitForSelector('section[data-machine=supervisor] g.state.live[data-state="running"]');
    // Three agents are connected by WebSocket: their subscriptions stand in one state, counted.
    await page.waitForFunction(() => document.querySelector('section[data-machine=webSocketSubscription] g.state.live .count')?.textContent === '3');
    const [sent] = await h.send([command({ type: 'agent', id: 'web-2' })]);
    await page.waitForSelector(`#recent-events tr:has-text("${sent!.document_id}")`);
    await shoot(page, 'machines');
    await page.context().close();
  });

  test('an auditor sees everything and no control it would be refused', async () => {
    const page = await signIn(keys.auditor);
    await page.waitForSelector('#fleet table');
    assert.equal(await page.locator('[data-send]').count(), 0);
    await page.goto(`${h.courier.managementUrl}/console#/jobs/${jobId}`);
    await page.waitForSelector('#job-status');
    assert.equal(await page.locator('[data-control]').count(), 0);
    await h.addAgent('idle-1');
    const [pending] = await h.send([command({ type: 'agent', id: 'idle-1' })]);
    await page.goto(`${h.courier.managementUrl}/console#/commands/${encodeURIComponent(pending!.document_id)}`);
    await page.waitForSelector('#command-status.pending');
    assert.equal(await page.locator('#cancel').count(), 0);
    await page.context().close();
  });

  test('a scoped key sees only its scope: its agents, and no live actors of the whole node', async () => {
    const page = await signIn(keys.scoped);
    await page.waitForSelector('#fleet table');
    assert.deepEqual((await rows(page, '#fleet')).map((r) => r.split('\t')[0]).sort(), ['web-1', 'web-2']);
    await page.goto(`${h.courier.managementUrl}/console#/machines`);
    await page.waitForSelector('section[data-machine=command] svg');
    assert.match(await page.locator('main > p.muted').first().innerText(), /has a scope/);
    assert.equal(await page.locator('g.state.live').count(), 0);
    await page.context().close();
  });

  test("the API's Swagger UI: after Authorize, Try it out sends the key on the routes that did not declare it before (a command, its history)", async () => {
    const [sent] = await h.send([command({ type: 'agent', id: 'web-1' })]);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${h.courier.managementUrl}/api/v1/docs`);
    await page.click('button.authorize');
    await page.fill('.modal-ux input', keys.auditor);
    await page.click('.modal-ux button.authorize');
    await page.click('.modal-ux button.btn-done');
    for (const [operation, expected] of [
      ['#operations-commands-get_api_v1_commands__document_id_', sent!.document_id],
      ['#operations-commands-get_api_v1_commands__document_id__history', '"to": "pending"'],
    ] as const) {
      const block = page.locator(operation);
      await block.locator('.opblock-summary').click();
      await block.locator('button.try-out__btn').click();
      await block.locator('input[placeholder="document_id"]').fill(sent!.document_id);
      await block.locator('button.execute').click();
      await block.locator('.live-responses-table tbody .response-col_status').first().waitFor();
      assert.equal((await block.locator('.live-responses-table tbody .response-col_status').first().innerText()).trim(), '200', operation);
      assert.ok((await block.locator('.live-responses-table tbody .response-col_description').first().innerText()).includes(expected), operation);
    }
    await page.context().close();
  });

  test('a key revoked while the console is open: the next call sends the operator back to the sign-in form', async () => {
    const key = await h.createKey('operator', [], 'short-lived');
    const page = await signIn(key);
    const { items } = (await h.admin('GET', '/api/v1/keys')).body as { items: { id: string; name: string }[] };
    const revoked = await h.admin('DELETE', `/api/v1/keys/${items.find((k) => k.name === 'short-lived')!.id}`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    await page.goto(`${h.courier.managementUrl}/console#/commands`);
    await page.waitForSelector('#login-error');
    assert.match(await page.locator('#login-error').innerText(), /refused/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.context().close();
  });
});

describe('the Stately inspector relay page without stately.ai', { skip: tier.skip }, () => {
  let h: Harness;
  let browser: Browser;
  before(async () => {
    h = await startHarness({ inspect: 'true', inspectPort: '0' });
    browser = await tier.launch();
  });
  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test('says plainly that the inspector cannot be loaded, and points to the console', async () => {
    const context = await browser.newContext();
    // As on a network that cannot reach stately.ai.
    await context.route(/stately\.ai/, (route) => route.abort('internetdisconnected'));
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(h.courier.inspector!.url);
    await page.waitForSelector('#problem:not([hidden])');
    const problem = await page.locator('#problem').innerText();
    assert.match(problem, /cannot be loaded/);
    assert.ok(problem.includes(`${h.courier.managementUrl}/console`), problem);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('courier: connected'));
    assert.match(await page.locator('#status').innerText(), /Stately inspector: cannot be loaded/);
    assert.equal(await page.locator('#inspector').isHidden(), true);
    await page.screenshot({ path: join(shots, 'inspector-offline.png') });
    await context.close();
  });
});
