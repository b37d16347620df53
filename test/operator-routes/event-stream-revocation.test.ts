import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { command, eventually, startHarness, type Harness } from '../support/courier-harness.js';

/** An SSE stream lives no longer than the API key it was opened with. */
describe('management API: the event stream of a revoked key', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.addAgent('rv-1');
  });
  after(() => h.stop());

  /** Opens the stream; resolves with the response once its first bytes (the opening comment) are in. */
  const openStream = (key: string) =>
    new Promise<{ res: IncomingMessage; text: () => string; ended: Promise<void> }>((resolve, reject) => {
      const url = new URL('/api/v1/events/stream', h.courier.managementUrl);
      const req = request({ hostname: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } }, (res) => {
        let text = '';
        const ended = new Promise<void>((done) => {
          res.on('close', done);
          res.on('error', () => done());
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const first = text === '';
          text += chunk;
          if (first) resolve({ res, text: () => text, ended });
        });
      });
      req.on('error', reject);
      req.end();
    });

  test("revoking the key (DELETE /api/v1/keys/{id}) ends its open stream; another key's stream goes on", async () => {
    const doomed = await h.createKey('auditor', [], 'rv-doomed');
    const other = await h.createKey('auditor', [], 'rv-other');
    const stream = await openStream(doomed);
    const kept = await openStream(other);
    assert.equal(stream.res.statusCode, 200);
    let ended = false;
    void stream.ended.then(() => (ended = true));

    const id = doomed.split('_')[1]!;
    assert.equal((await h.admin('DELETE', `/api/v1/keys/${id}`)).status, 200);
    // Ended by the revocation itself: the limit here is below the keepalive's re-read of the key (every
    // 15 s, for revocations made on another node), which would end it too, later.
    await eventually(() => (ended ? true : undefined), 'the stream of the revoked key to end', 10_000);
    assert.equal((await h.mgmt('GET', '/api/v1/audit', { key: doomed })).status, 401);

    // The other stream still carries the trail.
    const [created] = await h.send([command({ type: 'agent', id: 'rv-1' })]);
    await eventually(() => (kept.text().includes(created!.document_id) ? true : undefined), 'the other stream to carry the new command');
    kept.res.destroy();
  });
});
