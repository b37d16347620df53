import { once } from 'node:events';
import WebSocket from 'ws';

export interface Frame {
  type: string;
  commands?: { document_id: string; status: string }[];
  document_id?: string;
  results?: { document_id: string; outcome: string; status: string }[];
  outcome?: string;
  status?: string;
  code?: string;
  message?: string;
}

/** A WebSocket client that queues incoming frames so a test can await the next one. */
export class AgentSocket {
  readonly ws: WebSocket;
  private readonly frames: Frame[] = [];
  private waiters: ((frame: Frame) => void)[] = [];

  constructor(url: string, token: string, options: WebSocket.ClientOptions = {}) {
    const wsUrl = url.replace(/^http/, 'ws') + '/api/v1/commands/ws';
    this.ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, ...options });
    this.ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString()) as Frame;
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
  }

  async open(): Promise<this> {
    await once(this.ws, 'open');
    return this;
  }

  /** The next frame; fails after `timeoutMs` rather than wait forever for one that never comes. */
  next(timeoutMs = 10_000): Promise<Frame> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      const waiter = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Reads frames, acking every command pushed, until `count` distinct commands have come; returns their ids. */
  async receiveAndAck(count: number): Promise<Set<string>> {
    const received = new Set<string>();
    while (received.size < count) {
      const frame = await this.next();
      if (frame.type !== 'commands') continue;
      for (const c of frame.commands!) received.add(c.document_id);
      this.send({ type: 'ack', ids: frame.commands!.map((c) => c.document_id) });
    }
    return received;
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await once(this.ws, 'close');
  }
}
