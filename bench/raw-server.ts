// The raw floor: a minimal `ws` server that does nothing but push command frames to connected
// agents, as fast as they take them. No authentication, no store, no actors: the same frames to
// the same agents, so courier's delivery rate can be read against what this machine allows.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveIpc } from './ipc.js';

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const clients: WebSocket[] = [];
let pushed = 0;
let acked = 0;
let window = 0;
let template: Record<string, unknown> = {};
let running = false;
let next = 0;

wss.on('connection', (ws) => {
  clients.push(ws);
  ws.on('message', (data: Buffer) => {
    // Acks pace the push (at most `window` frames unacknowledged); results are read and not answered.
    const frame = JSON.parse(data.toString()) as { type: string; ids?: string[]; ack?: string[] };
    const ids = frame.type === 'ack' ? frame.ids : frame.type === 'results' ? frame.ack : undefined;
    if (!ids) return;
    acked += ids.length;
    refill();
  });
  ws.on('close', () => clients.splice(clients.indexOf(ws), 1));
});

/** Pushes one-command frames, round-robin over the agents, until `window` are unacknowledged. */
function refill(): void {
  while (running && pushed - acked < window && clients.length > 0) {
    const ws = clients[next++ % clients.length]!;
    const command = { ...template, document_id: `raw-${pushed}` };
    ws.send(JSON.stringify({ type: 'commands', commands: [command] }));
    pushed++;
  }
}

serveIpc({
  listen: () =>
    new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))),
  clients: () => clients.length,
  push: async (args: { template: Record<string, unknown>; window: number; durationMs: number }) => {
    template = args.template;
    window = args.window;
    running = true;
    refill();
    await new Promise((resolve) => setTimeout(resolve, args.durationMs));
    running = false;
    return { pushed, acked };
  },
  close: async () => {
    for (const ws of clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  },
});
