import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyPluginAsync } from 'fastify';
import { createCourier, CourierError, type Courier } from 'courier';
import { requestJson } from '../../src/http-client.js';
import { tempDir } from '../support/courier-harness.js';

/** A component's routes, as a component writes them: they use the runtime through the request. */
const inventory: FastifyPluginAsync = async (app) => {
  app.get('/socket', async (request) => ({ socket: request.courier.admin.socket, same: request.courier === app.courier }));
  app.post<{ Body: { module: string } }>(
    '/commands',
    { schema: { body: { type: 'object', properties: { module: { type: 'string', minLength: 1 } }, required: ['module'], additionalProperties: false } } },
    async (request, reply) => {
      const [made] = await request.courier.commands.submit(
        [{ source: 'Users/Services', target: { type: 'server', id: request.body.module }, action: { name: 'refresh' }, timeout: 60 }],
        { who: 'component:inventory' },
      );
      return reply.code(201).send({ document_id: made!.document_id });
    },
  );
  app.get('/broken', async () => {
    throw new Error('the component failed');
  });
};

describe('components’ routes on the admin socket', () => {
  let courier: Courier;
  const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: courier.admin.socket, method, path, ...(body !== undefined ? { body } : {}) });
  before(async () => {
    courier = await createCourier({ dataDir: tempDir(), host: '127.0.0.1', port: 0, managementPort: 0, insecureHttp: true, logLevel: 'silent', bodyLimit: 2048 });
    await courier.admin.register(inventory, { prefix: '/api/v1/inventory' });
  });
  after(() => courier.close());

  test('a plugin route answers on the socket, the runtime reachable through its request', async () => {
    const res = await admin('GET', '/api/v1/inventory/socket');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { socket: courier.admin.socket, same: true });
    const made = await admin('POST', '/api/v1/inventory/commands', { module: 'inventory' });
    assert.equal(made.status, 201);
    const { document_id } = made.body as { document_id: string };
    // Made through the runtime: courier's own route reads it, and its trail names the component.
    assert.equal(((await admin('GET', `/api/v1/commands/${document_id}`)).body as { status: string }).status, 'pending');
    assert.deepEqual(
      (await courier.commands.history(document_id))?.map((e) => [e.to, e.actor]),
      [['pending', 'component:inventory']],
    );
    // Courier's own routes answer as before beside it.
    assert.equal((await admin('GET', '/api/v1/audit?limit=1')).status, 200);
  });

  test("its refusals take the socket's shape and limits: {message, code}", async () => {
    const invalid = await admin('POST', '/api/v1/inventory/commands', { module: '' });
    assert.equal(invalid.status, 400);
    assert.equal((invalid.body as { code: string }).code, 'COURIER_ERR_VALIDATION');
    assert.deepEqual(Object.keys(invalid.body as object).sort(), ['code', 'message']);
    const large = await admin('POST', '/api/v1/inventory/commands', { module: 'x'.repeat(4096) });
    assert.deepEqual([large.status, (large.body as { code: string }).code], [413, 'COURIER_ERR_BODY_TOO_LARGE']);
    const text = await requestJson({
      socketPath: courier.admin.socket,
      method: 'POST',
      path: '/api/v1/inventory/commands',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.deepEqual([text.status, (text.body as { code: string }).code], [415, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE']);
    const missing = await admin('GET', '/api/v1/inventory/nothing-here');
    assert.deepEqual([missing.status, (missing.body as { code: string }).code], [404, 'COURIER_ERR_ROUTE_NOT_FOUND']);
    const broken = await admin('GET', '/api/v1/inventory/broken');
    assert.deepEqual(broken, { status: 500, body: { message: 'Internal server error', code: 'COURIER_ERR_INTERNAL' } });
  });

  test("a prefix over one of courier's own routes is refused at registration, and the route still answers", async () => {
    const routes: FastifyPluginAsync = async (app) => {
      app.get('/', async () => ({ shadowed: true }));
      app.get('/:anything', async () => ({ shadowed: true }));
    };
    for (const [prefix, over] of [
      ['/api/v1/commands', 'POST /api/v1/commands'],
      ['/api', 'GET /api/v1/openapi.json'],
      ['/api/v1/events', 'GET /api/v1/events/stream'],
      // Under a parameter of a built-in route: GET /api/v1/commands/:document_id would have taken these.
      ['/api/v1/commands/mine', 'GET /api/v1/commands/:document_id'],
      ['/healthz', 'GET /healthz'],
    ] as const) {
      await assert.rejects(courier.admin.register(routes, { prefix }), (error: unknown) => {
        assert.ok(error instanceof CourierError, String(error));
        assert.equal(error.code, 'COURIER_ERR_PLUGIN_ROUTE_SHADOWED');
        assert.ok(error.message.includes(over), `${prefix}: ${error.message}`);
        return true;
      });
    }
    assert.deepEqual(courier.admin.prefixes, ['/api/v1/inventory']);
    const commands = await admin('GET', '/api/v1/commands?limit=1');
    assert.equal(commands.status, 200);
    assert.ok(Array.isArray((commands.body as { items: unknown[] }).items));
    assert.equal((await admin('GET', '/healthz')).status, 200);
  });

  test("a prefix over another component's, or not a plain path, is refused; two registrations of one prefix at once make one", async () => {
    const routes: FastifyPluginAsync = async (app) => void app.get('/status', async () => ({ ok: true }));
    for (const [prefix, code] of [
      ['/api/v1/inventory', 'COURIER_ERR_PLUGIN_PREFIX_TAKEN'],
      ['/api/v1/inventory/more', 'COURIER_ERR_PLUGIN_PREFIX_TAKEN'],
      ['/api/v1/:component', 'COURIER_ERR_PLUGIN_PREFIX_INVALID'],
      ['api/v1/x', 'COURIER_ERR_PLUGIN_PREFIX_INVALID'],
      ['/api/v1/x/', 'COURIER_ERR_PLUGIN_PREFIX_INVALID'],
      ['/', 'COURIER_ERR_PLUGIN_PREFIX_INVALID'],
      ['/api/v1/../x', 'COURIER_ERR_PLUGIN_PREFIX_INVALID'],
    ] as const) {
      await assert.rejects(courier.admin.register(routes, { prefix }), { code }, prefix);
    }
    const both = await Promise.allSettled([courier.admin.register(routes, { prefix: '/api/v1/twice' }), courier.admin.register(routes, { prefix: '/api/v1/twice' })]);
    assert.deepEqual(both.map((b) => b.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(((both.find((b) => b.status === 'rejected') as PromiseRejectedResult).reason as CourierError).code, 'COURIER_ERR_PLUGIN_PREFIX_TAKEN');
    assert.deepEqual((await admin('GET', '/api/v1/twice/status')).body, { ok: true });
    // A prefix that only begins like another's is its own.
    await courier.admin.register(routes, { prefix: '/api/v1/inventory-2' });
    assert.deepEqual((await admin('GET', '/api/v1/inventory-2/status')).body, { ok: true });
  });

  test('a plugin that fails to load is refused with its error, and its prefix stays free', async () => {
    const failing: FastifyPluginAsync = async () => {
      throw new Error('cannot open its cache');
    };
    await assert.rejects(courier.admin.register(failing, { prefix: '/api/v1/failing' }), /cannot open its cache/);
    assert.ok(!courier.admin.prefixes.includes('/api/v1/failing'));
    assert.equal((await admin('GET', '/api/v1/failing')).status, 404);
  });
});

describe('closing courier', () => {
  test("runs the components' onClose hooks, and refuses registrations from then on", async () => {
    const courier = await createCourier({ dataDir: tempDir(), host: '127.0.0.1', port: 0, managementPort: 0, insecureHttp: true, logLevel: 'silent' });
    let closed = 0;
    const hooked: FastifyPluginAsync = async (app) => void app.addHook('onClose', async () => void closed++);
    await courier.admin.register(hooked, { prefix: '/api/v1/hooked' });
    await courier.close();
    assert.equal(closed, 1);
    await assert.rejects(
      courier.admin.register(async () => {}, { prefix: '/api/v1/late' }),
      { code: 'COURIER_ERR_SHUTTING_DOWN' },
    );
  });
});
