import WebSocket from 'ws';

/** A WebSocket client of the inspector relay that keeps every message it receives. */
export interface InspectorClient {
  messages: Record<string, unknown>[];
  raw: string[];
  close(): void;
}

export function connectInspector(url: string, headers: Record<string, string> = {}): Promise<InspectorClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const client: InspectorClient = { messages: [], raw: [], close: () => ws.close() };
    ws.on('message', (data) => {
      const text = (data as Buffer).toString();
      client.raw.push(text);
      client.messages.push(JSON.parse(text) as Record<string, unknown>);
    });
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`refused: ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The HTTP status with which the relay refuses a WebSocket client (or 101 if it accepts it). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (error) => {
      if (ws.readyState === ws.CLOSED) return;
      reject(error);
    });
  });
}
