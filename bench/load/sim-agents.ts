import { Agent } from 'node:http';
import WebSocket from 'ws';
import { requestJson } from '../../src/http-client.js';
import { sleep, wallNow } from '../clock.js';

/** A command as agents receive it; only the fields the load process reads. */
export interface ReceivedCommand {
  document_id: string;
  action: { args?: { sent_at?: number; tag?: string } };
}

/** What a simulated agent reports to its fleet. */
export interface AgentHooks {
  /** Each command received, with the wall-clock time of receipt. */
  onCommand(command: ReceivedCommand, at: number): void;
  /** Results the server confirmed as recorded. */
  onCompleted(count: number): void;
  onError(message: string): void;
}

export interface Credentials {
  id: string;
  key: string;
}

/** POST /api/v1/authentication, as a real agent does before anything else. */
export async function authenticate(url: string, creds: Credentials, agent: Agent, ca?: string): Promise<string> {
  const res = await requestJson({
    baseUrl: url,
    method: 'POST',
    path: '/api/v1/authentication',
    body: { uuid: creds.id, key: creds.key },
    agent,
    ...(ca ? { tls: { ca, rejectUnauthorized: true } } : {}),
  });
  if (res.status !== 200) throw new Error(`authentication of ${creds.id} answered ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { token: string }).token;
}

/**
 * A WebSocket agent with the reference agent's wire behaviour: on a `commands` frame it acks the
 * ids and reports their results in one `results` frame; a `results_ack` completes them.
 */
export class WebSocketAgent {
  private ws: WebSocket | null = null;

  constructor(
    readonly id: string,
    private readonly hooks: AgentHooks,
  ) {}

  /** Opens the socket; with `ca`, over TLS (wss:) verified against it. */
  open(url: string, token: string, ca?: string): Promise<void> {
    const wsUrl = new URL('/api/v1/commands/ws', url);
    wsUrl.protocol = ca ? 'wss:' : 'ws:';
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false, ...(ca ? { ca } : {}) });
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade of ${this.id} answered ${res.statusCode}`)));
      ws.on('error', (err) => {
        this.hooks.onError(`websocket ${this.id}: ${err.message}`);
        reject(err);
      });
      ws.on('message', (data) => this.onMessage(ws, data as Buffer));
    });
  }

  private onMessage(ws: WebSocket, data: Buffer): void {
    const at = wallNow();
    const frame = JSON.parse(data.toString()) as { type: string; commands?: ReceivedCommand[]; results?: unknown[]; message?: string };
    if (frame.type === 'commands' && frame.commands) {
      for (const command of frame.commands) this.hooks.onCommand(command, at);
      const ids = frame.commands.map((c) => c.document_id);
      ws.send(JSON.stringify({ type: 'results', ack: ids, results: ids.map((id) => ({ document_id: id, code: 0, message: 'done' })) }));
    } else if (frame.type === 'results_ack' && frame.results) {
      this.hooks.onCompleted(frame.results.length);
    } else if (frame.type === 'error') {
      this.hooks.onError(`server error frame to ${this.id}: ${frame.message}`);
    }
  }

  close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.terminate();
    });
  }
}

/**
 * A long-polling agent: holds `GET /api/v1/commands`; on 200 it reports the results with
 * `POST /api/v1/commands/results` and polls again; on 408 it polls again. One keep-alive
 * connection of its own, like a real agent.
 */
export class LongPollAgent {
  private readonly abort = new AbortController();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private loop: Promise<void> | null = null;

  constructor(
    readonly id: string,
    private readonly hooks: AgentHooks,
  ) {}

  start(url: string, token: string): void {
    this.loop ??= this.run(url, `Bearer ${token}`);
  }

  private async run(url: string, authorization: string): Promise<void> {
    const common = { baseUrl: url, headers: { authorization }, signal: this.abort.signal, agent: this.agent };
    while (!this.abort.signal.aborted) {
      try {
        const res = await requestJson({ ...common, method: 'GET', path: '/api/v1/commands' });
        if (res.status === 408) continue;
        if (res.status === 503) return; // the server is shutting down
        if (res.status !== 200) throw new Error(`long-poll of ${this.id} answered ${res.status} ${JSON.stringify(res.body)}`);
        const at = wallNow();
        const commands = (res.body as { commands: ReceivedCommand[] }).commands;
        if (commands.length === 0) continue;
        for (const command of commands) this.hooks.onCommand(command, at);
        const results = commands.map((c) => ({ document_id: c.document_id, code: 0, message: 'done' }));
        const report = await requestJson({ ...common, method: 'POST', path: '/api/v1/commands/results', body: { results } });
        if (report.status !== 200) throw new Error(`results of ${this.id} answered ${report.status} ${JSON.stringify(report.body)}`);
        this.hooks.onCompleted(results.length);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.hooks.onError((error as Error).message);
        await sleep(1000);
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
    this.agent.destroy();
  }
}
