import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { CommandView } from '../domain/command.js';
import { TOKEN_LIFETIME_S } from '../auth/agent-tokens.js';
import { requestJson } from '../http-client.js';

export interface ReferenceAgentOptions {
  url: string;
  id: string;
  key: string;
  transport: 'long-poll' | 'websocket';
  /** The result code reported for every command (0 = success). */
  resultCode?: number;
  /** Called with each command as it arrives (once per document_id). */
  onCommand?: (command: CommandView) => void;
  /** Called on connection problems; the agent keeps retrying with back-off. */
  onProblem?: (message: string) => void;
}

/**
 * A minimal agent: authenticates, receives its commands by long-poll or WebSocket, "runs" each
 * one (reports the configured result), and de-duplicates by document_id, because delivery is
 * at-least-once. For demos and tests; real agents do the same on the same wire.
 */
export class ReferenceAgent {
  private token: string | null = null;
  private tokenIssuedAt = 0;
  private readonly seen = new Set<string>();
  private readonly abort = new AbortController();
  private socket: WebSocket | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: ReferenceAgentOptions) {}

  start(): void {
    this.running ??= this.options.transport === 'websocket' ? this.runWebSocket() : this.runLongPoll();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.socket?.terminate();
    await this.running?.catch(() => {});
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** A fresh token, renewed before its 900 s lifetime ends. */
  private async authorization(): Promise<string> {
    if (!this.token || Date.now() - this.tokenIssuedAt > (TOKEN_LIFETIME_S - 60) * 1000) {
      const res = await requestJson({
        baseUrl: this.options.url,
        method: 'POST',
        path: '/api/v1/authentication',
        body: { uuid: this.options.id, key: this.options.key },
        signal: this.abort.signal,
      });
      if (res.status !== 200) throw new Error(`authentication failed: ${res.status} ${JSON.stringify(res.body)}`);
      this.token = (res.body as { token: string }).token;
      this.tokenIssuedAt = Date.now();
    }
    return `Bearer ${this.token}`;
  }

  /** Returns the commands not seen before; every one still gets its result (re)reported. */
  private accept(commands: CommandView[]): CommandView[] {
    const fresh = commands.filter((c) => !this.seen.has(c.document_id));
    for (const command of fresh) {
      this.seen.add(command.document_id);
      this.options.onCommand?.(command);
    }
    return commands;
  }

  private result(command: CommandView) {
    const code = this.options.resultCode ?? 0;
    return { document_id: command.document_id, code, message: code === 0 ? `${command.action.name}: done` : `${command.action.name}: failed` };
  }

  private async backoff(attempt: number, problem: unknown): Promise<void> {
    this.options.onProblem?.(problem instanceof Error ? problem.message : String(problem));
    if (String(problem).includes('403')) this.token = null;
    const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => {});
  }

  private async runLongPoll(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const authorization = await this.authorization();
        const res = await requestJson({
          baseUrl: this.options.url,
          method: 'GET',
          path: '/api/v1/commands',
          headers: { authorization },
          signal: this.abort.signal,
        });
        if (res.status === 408) continue;
        if (res.status !== 200) throw new Error(`long-poll answered ${res.status} ${JSON.stringify(res.body)}`);
        const commands = this.accept((res.body as { commands: CommandView[] }).commands);
        const report = await requestJson({
          baseUrl: this.options.url,
          method: 'POST',
          path: '/api/v1/commands/results',
          headers: { authorization },
          body: { results: commands.map((c) => this.result(c)) },
          signal: this.abort.signal,
        });
        if (report.status !== 200) throw new Error(`result report answered ${report.status} ${JSON.stringify(report.body)}`);
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        await this.backoff(failures++, error);
      }
    }
  }

  private async runWebSocket(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const authorization = await this.authorization();
        const wsUrl = new URL('/api/v1/commands/ws', this.options.url);
        wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
        await new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(wsUrl, { headers: { authorization } });
          this.socket = ws;
          ws.on('open', () => (failures = 0));
          ws.on('message', (data) => {
            const frame = JSON.parse(data.toString()) as { type: string; commands?: CommandView[]; message?: string };
            if (frame.type === 'commands' && frame.commands) {
              ws.send(JSON.stringify({ type: 'ack', ids: frame.commands.map((c) => c.document_id) }));
              for (const command of this.accept(frame.commands)) ws.send(JSON.stringify({ type: 'result', ...this.result(command) }));
            } else if (frame.type === 'error') {
              this.options.onProblem?.(`server error frame: ${frame.message}`);
            }
          });
          ws.on('unexpected-response', (_req, res) => reject(new Error(`websocket upgrade answered ${res.statusCode}`)));
          ws.on('error', reject);
          ws.on('close', () => resolve());
        });
        if (!this.stopped) await this.backoff(failures++, 'websocket closed');
      } catch (error) {
        if (this.stopped) return;
        await this.backoff(failures++, error);
      }
    }
  }
}
