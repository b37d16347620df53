import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import WebSocket from 'ws';
import { ReferenceAgent } from '../../src/agent/reference-agent.js';
import { requestJson } from '../../src/http-client.js';
import { clientTls, type ClientTls } from '../../src/tls/client-tls.js';
import { createCa, createCsr, fingerprint256, issueClientCertificate, issueServerCertificate, type PemPair } from '../../src/tls/private-ca.js';
import { X509Certificate } from 'node:crypto';
import { command, eventually, startHarness, tempDir, type Harness } from '../support/courier-harness.js';
import { CLI, freePort, spawnCourier, type CourierProcess } from '../support/courier-process.js';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The certificate a TLS server presents on a new connection (its leaf). */
async function presented(url: string, ca: string): Promise<PeerCertificate> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), ca });
  await once(socket, 'secureConnect');
  const cert = socket.getPeerCertificate();
  socket.destroy();
  return cert;
}

/** A courier serving TLS with a certificate of `serverCa`, asking agents for certificates of `clientCa` (whose key it holds). */
async function mutualTlsHarness(): Promise<{ h: Harness; serverCa: PemPair; clientCa: PemPair }> {
  const dir = tempDir();
  const serverCa = await createCa('server CA');
  const clientCa = await createCa('agents CA');
  const server = await issueServerCertificate(serverCa, ['127.0.0.1', 'localhost']);
  writeFileSync(join(dir, 'server.pem'), server.cert);
  writeFileSync(join(dir, 'server-key.pem'), server.key);
  writeFileSync(join(dir, 'clients.pem'), clientCa.cert);
  writeFileSync(join(dir, 'clients-key.pem'), clientCa.key, { mode: 0o600 });
  const h = await startHarness({
    insecureHttp: 'false',
    tlsCert: join(dir, 'server.pem'),
    tlsKey: join(dir, 'server-key.pem'),
    tlsClientCa: join(dir, 'clients.pem'),
    tlsClientCaKey: join(dir, 'clients-key.pem'),
  });
  return { h, serverCa, clientCa };
}

/**
 * Secure by default: `courier serve` with no TLS options serves HTTPS on both TCP listeners with a
 * CA it makes on first start, and agents verify it, by the CA's file or its pinned fingerprint.
 */
describe('TLS by default', () => {
  let server: CourierProcess;
  let dataDir: string;
  let args: string[];
  let caPem: string;
  before(async () => {
    dataDir = tempDir();
    args = ['--data-dir', dataDir, '--port', String(await freePort()), '--management-port', String(await freePort()), '--log-level', 'info'];
    server = await spawnCourier(args, {}, { tls: true });
    caPem = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
  });
  after(async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const running = () => server.logs.find((l) => l.msg === 'courier is running') as { url: string; managementUrl: string; tls: { caFingerprint: string; caFile: string } };

  test('both listeners serve HTTPS with a CA made in the data directory (keys 0600), and say how to pin it', async () => {
    const { url, managementUrl, tls } = running();
    assert.match(url, /^https:\/\//);
    assert.match(managementUrl, /^https:\/\//);
    assert.equal(tls.caFile, join(dataDir, 'tls', 'ca.pem'));
    assert.equal(tls.caFingerprint, fingerprint256(caPem));
    for (const key of ['ca-key.pem', 'server-key.pem']) assert.equal(statSync(join(dataDir, 'tls', key)).mode & 0o777, 0o600);
    const cert = await presented(url, caPem);
    assert.ok(cert.subjectaltname?.includes('IP Address:127.0.0.1'), cert.subjectaltname);
    const health = await requestJson({ baseUrl: managementUrl, method: 'GET', path: '/healthz', tls: { ca: caPem, rejectUnauthorized: true } });
    assert.equal(health.status, 200);
  });

  test('plain HTTP is not served: a clear-text request gets no answer', async () => {
    const { url } = running();
    const { port } = new URL(url);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (error) => resolve(`refused: ${error.message}`));
      req.end();
    });
    assert.match(outcome, /^refused/);
  });

  test('the reference agent pins the CA by its fingerprint and receives its commands', async () => {
    const { url, tls } = running();
    const admin = (method: string, path: string, body?: unknown) => requestJson({ socketPath: server.socket, method, path, ...(body ? { body } : {}) });
    const key = ((await admin('POST', '/api/v1/agents', { id: 'tls-agent' })).body as { key: string }).key;
    const received: string[] = [];
    for (const transport of ['long-poll', 'websocket'] as const) {
      const agent = new ReferenceAgent({
        url,
        id: 'tls-agent',
        key,
        transport,
        tls: await clientTls(url, { caFingerprint: tls.caFingerprint }),
        onCommand: (c) => received.push(c.document_id),
      });
      agent.start();
      try {
        const created = await admin('POST', '/api/v1/commands', { commands: [command({ type: 'agent', id: 'tls-agent' })] });
        const id = (created.body as { commands: { document_id: string }[] }).commands[0]!.document_id;
        await eventually(
          async () => (((await admin('GET', `/api/v1/commands/${id}`)).body as { status: string }).status === 'success' ? true : undefined),
          `${transport}: the command done over TLS`,
        );
        assert.ok(received.includes(id));
      } finally {
        await agent.stop();
      }
    }
  });

  test("the README's walk-through over HTTPS: an enrollment token, `courier agent --ca … --enroll`, a command sent and printed", async (t) => {
    const { url, tls } = running();
    const onSocket = ['--socket', server.socket, '--json'];
    const made = JSON.parse((await run(process.execPath, [CLI, 'enrollment-tokens', 'create', '--group', 'linux', '--max-uses', '10', ...onSocket])).stdout) as { token: string };
    const keyFile = join(dataDir, 'agent-walk.json');
    const agent = spawn(process.execPath, [CLI, 'agent', '--url', url, '--ca', tls.caFile, '--enroll', made.token, '--id', 'walk-1', '--key-file', keyFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => agent.kill('SIGKILL'));
    let printed = '';
    agent.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    let problems = '';
    agent.stderr.on('data', (chunk: Buffer) => (problems += chunk.toString()));
    await eventually(() => (problems.includes('enrolled as walk-1') ? true : undefined), 'the agent enrolled over TLS');
    const sent = JSON.parse((await run(process.execPath, [CLI, 'send', '--agent', 'walk-1', '--action', 'restart', ...onSocket])).stdout) as {
      commands: { document_id: string }[];
    };
    await eventually(() => (printed.includes(sent.commands[0]!.document_id) ? true : undefined), `the command printed by the agent (stderr: ${problems})`);
  });

  test('a client pinning another fingerprint, or trusting another CA, refuses to talk', async () => {
    const { url } = running();
    const other = await createCa('someone else');
    await assert.rejects(clientTls(url, { caFingerprint: fingerprint256(other.cert) }), /did not present a CA with the SHA-256 fingerprint .*refusing to talk to it/);
    await assert.rejects(
      requestJson({
        baseUrl: url,
        method: 'POST',
        path: '/api/v1/authentication',
        body: { uuid: 'tls-agent', key: 'x'.repeat(20) },
        tls: { ca: other.cert, rejectUnauthorized: true },
      }),
      /self[- ]signed|unable to verify|unable to get local issuer/i,
    );
    // Nor does the system's trust store know courier's private CA.
    await assert.rejects(
      requestJson({ baseUrl: url, method: 'GET', path: '/healthz', tls: { rejectUnauthorized: true } }),
      /self[- ]signed|unable to verify|unable to get local issuer/i,
    );
  });

  test('the operator CLI reaches the management API over TLS with --ca or --ca-fingerprint, and refuses a wrong pin', async () => {
    const { managementUrl, tls } = running();
    const key = ((await requestJson({ socketPath: server.socket, method: 'POST', path: '/api/v1/keys', body: { role: 'admin' } })).body as { key: string }).key;
    const cli = (args: string[]) =>
      run(process.execPath, [CLI, ...args, '--url', managementUrl, '--api-key', key, '--json'], {
        env: { ...process.env, COURIER_URL: '', COURIER_API_KEY: '', COURIER_CA: '', COURIER_CA_FINGERPRINT: '' },
      });
    const byFile = JSON.parse((await cli(['audit', '--ca', tls.caFile])).stdout) as { items: unknown[] };
    assert.ok(Array.isArray(byFile.items));
    const byPin = JSON.parse((await cli(['commands', 'list', '--ca-fingerprint', tls.caFingerprint])).stdout) as { items: unknown[] };
    assert.ok(Array.isArray(byPin.items));
    const other = await createCa('someone else');
    await assert.rejects(cli(['commands', 'list', '--ca-fingerprint', fingerprint256(other.cert)]), /refusing to talk to it/);
    await assert.rejects(cli(['commands', 'list']), /self[- ]signed|unable to verify|unable to get local issuer/i);
  });

  test('a certificate request is refused where courier signs none', async () => {
    const { url } = running();
    const made = JSON.parse((await run(process.execPath, [CLI, 'enrollment-tokens', 'create', '--group', 'linux', '--socket', server.socket, '--json'])).stdout) as {
      token: string;
    };
    const res = await requestJson({
      baseUrl: url,
      method: 'POST',
      path: '/api/v1/enroll',
      body: { token: made.token, csr: (await createCsr('x')).csr },
      tls: { ca: caPem, rejectUnauthorized: true },
    });
    assert.equal(res.status, 400);
    assert.equal((res.body as { code: string }).code, 'COURIER_ERR_CSR_NOT_SIGNED');
  });

  test('a restart keeps the same CA: pinned agents keep working', async () => {
    const before = running().tls.caFingerprint;
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    server = await spawnCourier(args, {}, { tls: true });
    assert.equal(running().tls.caFingerprint, before);
  });
});

describe('--insecure-http', () => {
  test('serves plain HTTP, warned on start', async () => {
    const dataDir = tempDir();
    const server = await spawnCourier(['--data-dir', dataDir, '--port', '0', '--management-port', '0', '--log-level', 'info', '--insecure-http'], {}, { tls: true });
    try {
      const entry = server.logs.find((l) => l.msg === 'courier is running') as { url: string };
      assert.match(entry.url, /^http:\/\//);
      assert.ok(
        server.logs.some((l) => l.level === 40 && String(l.msg).includes('--insecure-http')),
        'no warning logged',
      );
      assert.equal((await requestJson({ baseUrl: entry.url, method: 'GET', path: '/healthz' })).status, 200);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Mutual TLS: with --tls-client-ca, an agent's client certificate must name it. */
describe('mutual TLS on the agents API', () => {
  let h: Harness;
  let serverCa: PemPair;
  let clientCa: PemPair;
  const certs = new Map<string, PemPair>();
  const keys = new Map<string, string>();
  before(async () => {
    ({ h, serverCa, clientCa } = await mutualTlsHarness());
    for (const id of ['mtls-a', 'mtls-b']) certs.set(id, await issueClientCertificate(clientCa, id));
    for (const id of ['mtls-a', 'mtls-b']) keys.set(id, await h.addAgent(id));
  });
  after(() => h.stop());

  const as = (id: string | null): ClientTls & { cert?: string; key?: string } => ({
    ca: serverCa.cert,
    rejectUnauthorized: true,
    ...(id ? { cert: certs.get(id)!.cert, key: certs.get(id)!.key } : {}),
  });
  const authenticate = (uuid: string, tls: ClientTls) => requestJson({ baseUrl: h.url, method: 'POST', path: '/api/v1/authentication', body: { uuid, key: keys.get(uuid)! }, tls });

  test('an agent authenticates with its own certificate, and uses its token only over a connection with it', async () => {
    const ok = await authenticate('mtls-a', as('mtls-a'));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const token = (ok.body as { token: string }).token;
    await h.send([command({ type: 'agent', id: 'mtls-a' })]);
    const polled = await requestJson({ baseUrl: h.url, method: 'GET', path: '/api/v1/commands', headers: { authorization: `Bearer ${token}` }, tls: as('mtls-a') });
    assert.equal(polled.status, 200);

    // Another agent's certificate: refused, whatever key or token comes with it.
    const wrongCert = await authenticate('mtls-a', as('mtls-b'));
    assert.equal(wrongCert.status, 403);
    assert.deepEqual(wrongCert.body, { code: 'COURIER_ERR_CLIENT_CERTIFICATE_MISMATCH', message: 'The client certificate does not name agent [mtls-a]' });
    const stolenToken = await requestJson({ baseUrl: h.url, method: 'GET', path: '/api/v1/commands', headers: { authorization: `Bearer ${token}` }, tls: as('mtls-b') });
    assert.equal(stolenToken.status, 403);
    const ws = new WebSocket(h.url.replace(/^https/, 'wss') + '/api/v1/commands/ws', { headers: { authorization: `Bearer ${token}` }, ...as('mtls-b') });
    const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 403);

    // No certificate at all.
    const none = await authenticate('mtls-a', as(null));
    assert.equal(none.status, 403);
    assert.equal((none.body as { code: string }).code, 'COURIER_ERR_CLIENT_CERTIFICATE_REQUIRED');
    // A certificate for the right name from another CA is not one courier's client CA signed.
    const forged = await issueClientCertificate(await createCa('impostor CA'), 'mtls-a');
    const impostor = await authenticate('mtls-a', { ...as(null), cert: forged.cert, key: forged.key });
    assert.equal(impostor.status, 403);
    assert.equal((impostor.body as { code: string }).code, 'COURIER_ERR_CLIENT_CERTIFICATE_REQUIRED');
  });
});

/** With the client CA's key, courier signs the certificate request an agent enrolls with: its key never leaves the host. */
describe('enrollment with a client certificate (mutual TLS)', () => {
  let h: Harness;
  let serverCa: PemPair;
  let clientCa: PemPair;
  before(async () => {
    ({ h, serverCa, clientCa } = await mutualTlsHarness());
  });
  after(() => h.stop());

  const token = async () => (await h.admin('POST', '/api/v1/enrollment-tokens', { groups: ['mtls'], max_uses: 5 })).body as { id: string; token: string };
  const uses = async (id: string) => ((await h.admin('GET', '/api/v1/enrollment-tokens')).body as { tokens: { id: string; uses: number }[] }).tokens.find((t) => t.id === id)!.uses;
  const enroll = (body: object) => requestJson({ baseUrl: h.url, method: 'POST', path: '/api/v1/enroll', body, tls: { ca: serverCa.cert, rejectUnauthorized: true } });

  test('an agent enrolls with a certificate request and gets a certificate naming it, which then authenticates it', async () => {
    const made = await token();
    const request = await createCsr('whatever-it-asks-for');
    const res = await enroll({ token: made.token, id: 'csr-1', csr: request.csr });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { key, certificate } = res.body as { key: string; certificate: string };
    const cert = new X509Certificate(certificate);
    assert.equal(cert.subject, 'CN=csr-1', 'the certificate names the enrolled agent, not what the request asked for');
    assert.ok(cert.checkIssued(new X509Certificate(clientCa.cert)));
    const tls = { ca: serverCa.cert, rejectUnauthorized: true, cert: certificate, key: request.key };
    const auth = await requestJson({ baseUrl: h.url, method: 'POST', path: '/api/v1/authentication', body: { uuid: 'csr-1', key }, tls });
    assert.equal(auth.status, 200, JSON.stringify(auth.body));
  });

  test('a request that is not one, or not signed by its key, is refused before the token is used', async () => {
    const made = await token();
    const garbage = await enroll({ token: made.token, id: 'csr-2', csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' });
    assert.equal(garbage.status, 400);
    assert.equal((garbage.body as { code: string }).code, 'COURIER_ERR_INVALID_CSR');
    const request = await createCsr('csr-2');
    const lines = request.csr.trim().split('\n');
    const der = Buffer.from(lines.slice(1, -1).join(''), 'base64');
    der[der.length - 5] = der[der.length - 5]! ^ 0xff; // the signature no longer matches the request
    const tampered = `${lines[0]}\n${der.toString('base64')}\n${lines.at(-1)}\n`;
    const refused = await enroll({ token: made.token, id: 'csr-2', csr: tampered });
    assert.equal(refused.status, 400);
    assert.equal((refused.body as { code: string }).code, 'COURIER_ERR_INVALID_CSR');
    assert.equal(await uses(made.id), 0);
    assert.equal((await h.admin('GET', '/api/v1/agents/csr-2')).status, 404);
  });

  test('courier agent --enroll --client-certificate: keeps the certificate with its key file and runs over mutual TLS', async (t) => {
    const made = await token();
    const keyFile = join(tempDir(), 'agent.json');
    const ca = join(tempDir(), 'server-ca.pem');
    writeFileSync(ca, serverCa.cert);
    const args = [CLI, 'agent', '--url', h.url, '--ca', ca, '--enroll', made.token, '--id', 'csr-cli', '--client-certificate', '--key-file', keyFile];
    const agent = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => agent.kill('SIGKILL'));
    let printed = '';
    let problems = '';
    agent.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    agent.stderr.on('data', (chunk: Buffer) => (problems += chunk.toString()));
    await eventually(() => (problems.includes('enrolled as csr-cli with a client certificate') ? true : undefined), `the enrollment (stderr: ${problems})`);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const kept = JSON.parse(readFileSync(keyFile, 'utf8')) as { certificate: string; certificateKey: string };
    assert.equal(new X509Certificate(kept.certificate).subject, 'CN=csr-cli');
    const [sent] = await h.send([command({ type: 'agent', id: 'csr-cli' })]);
    await eventually(() => (printed.includes(sent!.document_id) ? true : undefined), `the command printed by the agent (stderr: ${problems})`);
  });
});

/** The operator's certificate files are read again on a reload and when they change; open connections stay. */
describe('certificate reload', () => {
  let h: Harness;
  let dir: string;
  let first: PemPair;
  let second: PemPair;
  let bothCas: string;
  before(async () => {
    dir = tempDir();
    const [ca1, ca2] = [await createCa('first CA'), await createCa('second CA')];
    first = await issueServerCertificate(ca1, ['127.0.0.1']);
    second = await issueServerCertificate(ca2, ['127.0.0.1']);
    bothCas = `${ca1.cert}\n${ca2.cert}\n`;
    writeFileSync(join(dir, 'cert.pem'), first.cert);
    writeFileSync(join(dir, 'key.pem'), first.key);
    h = await startHarness({ insecureHttp: 'false', tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') });
  });
  after(() => h.stop());

  const leafOf = (pair: PemPair) => fingerprint256(pair.cert);

  test('a new certificate is served to new connections while an open WebSocket keeps working, on reload and on a file change', async () => {
    assert.equal((await presented(h.url, bothCas)).fingerprint256, leafOf(first));
    const key = await h.addAgent('reload-1');
    const auth = await requestJson({
      baseUrl: h.url,
      method: 'POST',
      path: '/api/v1/authentication',
      body: { uuid: 'reload-1', key },
      tls: { ca: bothCas, rejectUnauthorized: true },
    });
    const { token } = auth.body as { token: string };
    const ws = new WebSocket(h.url.replace(/^https/, 'wss') + '/api/v1/commands/ws', { headers: { authorization: `Bearer ${token}` }, ca: bothCas });
    await once(ws, 'open');
    const frames: { type: string; commands?: { document_id: string }[] }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString()) as (typeof frames)[number]));

    writeFileSync(join(dir, 'cert.pem'), second.cert);
    writeFileSync(join(dir, 'key.pem'), second.key);
    await h.courier.reloadTls();
    assert.equal((await presented(h.url, bothCas)).fingerprint256, leafOf(second));
    const [created] = await h.send([command({ type: 'agent', id: 'reload-1' })]);
    await eventually(
      () => (frames.some((f) => f.commands?.some((c) => c.document_id === created!.document_id)) ? true : undefined),
      'a command on the socket opened before the reload',
    );
    assert.equal(ws.readyState, WebSocket.OPEN);

    // The files change again (a renewal): noticed without a reload.
    writeFileSync(join(dir, 'cert.pem'), first.cert);
    writeFileSync(join(dir, 'key.pem'), first.key);
    await eventually(async () => ((await presented(h.url, bothCas)).fingerprint256 === leafOf(first) ? true : undefined), 'the changed files served');
    // And once more, replaced whole (written aside, then renamed over them, as renewal tools do).
    writeFileSync(join(dir, 'cert.pem.new'), second.cert);
    writeFileSync(join(dir, 'key.pem.new'), second.key);
    renameSync(join(dir, 'key.pem.new'), join(dir, 'key.pem'));
    renameSync(join(dir, 'cert.pem.new'), join(dir, 'cert.pem'));
    await eventually(async () => ((await presented(h.url, bothCas)).fingerprint256 === leafOf(second) ? true : undefined), 'the renamed files served');
    ws.close();
  });

  test('files that do not fit are refused on reload and the previous certificate stays', async () => {
    const before = (await presented(h.url, bothCas)).fingerprint256;
    assert.equal(before, leafOf(second), 'the previous test leaves the second certificate served');
    writeFileSync(join(dir, 'key.pem'), first.key); // the key of another certificate
    await assert.rejects(h.courier.reloadTls());
    assert.equal((await presented(h.url, bothCas)).fingerprint256, before);
  });
});
