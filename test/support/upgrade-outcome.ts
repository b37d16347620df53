import WebSocket from 'ws';

/**
 * What a WebSocket upgrade to the agents API with this token comes to: `101` (opened, then closed
 * at once), `<status> <code>` for a refusal with a JSON error body, or `refused` when no HTTP
 * answer came (the listener is gone).
 */
export function upgradeOutcome(url: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/commands/ws`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('open', () => {
      ws.terminate();
      resolve('101');
    });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve(`${res.statusCode} ${(JSON.parse(Buffer.concat(chunks).toString()) as { code: string }).code}`);
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) resolve('refused');
    });
  });
}
