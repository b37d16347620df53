import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { CommandView } from '../domain/command.js';
import { decodeJwt } from 'jose';
import { requestJson } from '../http-client.js';
import { MAX_RESULTS_PER_REPORT } from '../domain/json-limits.js';
import type { ClientTls } from '../tls/client-tls.js';

/** Close code of a WebSocket whose token expired (the server's CLOSE_TOKEN_EXPIRED). */
const CLOSE_TOKEN_EXPIRED = 4001;
/** A token is renewed this long before it expires (or at 9/10 of a shorter lifetime). */
const RENEW_BEFORE_MS = 60_000;

/** A refusal by the server: its status and, on a 429, how long it asked to wait. */
class Refused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/**
 * Courier refused the agent's own credentials (401 at authentication: the agent was removed, or
 * registered again with another key). Trying again cannot help: the agent stops.
 */
class CredentialsRefused extends Refused {}

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
  /** How to verify courier's certificate on an `https:` URL (see `clientTls`). */
  tls?: ClientTls | undefined;
  /** Called each time it obtains a token (the first, and each renewal or re-authentication). */
  onAuthenticated?: (expiresAt: number) => void;
  /** Called when it is connected (long-poll: authenticated and its results reported; WebSocket: open), and again after each problem. */
  onConnected?: () => void;
  /** Called once, when courier refuses the agent's credentials (removed, or registered again): it stops. */
  onRefused?: (message: string) => void;
}

/**
 * A minimal agent: authenticates, receives its commands by long-poll or WebSocket, "runs" each
 * one (reports the configured result), and de-duplicates by document_id, because delivery is
 * at-least-once. For demos and tests; real agents do the same on the same wire.
 */
export class ReferenceAgent {
  private token: string | null = null;
  /** When the token should be renewed (ms since the epoch), read from its `exp`. */
  private renewAt = 0;
  private readonly seen = new Set<string>();
  /** Results not yet acknowledged by the server: kept and re-sent until they are (a crash must not lose them). */
  private readonly outbox = new Map<string, { document_id: string; code: number; message: string }>();
  private readonly abort = new AbortController();
  private socket: WebSocket | null = null;
  private running: Promise<void> | null = null;
  private isConnected = false;

  constructor(private readonly options: ReferenceAgentOptions) {}

  /** Runs until `stop`, or until courier refuses its credentials (`onRefused`); `done` settles then. */
  start(): void {
    this.running ??= this.options.transport === 'websocket' ? this.runWebSocket() : this.runLongPoll();
  }

  /** Settles when the agent has stopped (by `stop`, or refused). */
  get done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.socket?.terminate();
    await this.running?.catch(() => {});
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** A fresh token, renewed before it expires (by its `exp`, whatever the server's lifetime). */
  private async authorization(): Promise<string> {
    if (!this.token || Date.now() >= this.renewAt) {
      const res = await requestJson({
        baseUrl: this.options.url,
        tls: this.options.tls,
        method: 'POST',
        path: '/api/v1/authentication',
        body: { uuid: this.options.id, key: this.options.key },
        signal: this.abort.signal,
        withHeaders: true,
      });
      if (res.status === 401) {
        const { message, code } = (res.body ?? {}) as { message?: string; code?: string };
        throw new CredentialsRefused(`courier refused this agent's credentials: ${message ?? 'unauthorized'}${code ? ` (${code})` : ''}`, 401);
      }
      if (res.status !== 200) {
        // 429: too many failures from here or for this id; the server says how long to wait.
        const retryAfterS = Number(res.headers?.['retry-after']);
        throw new Refused(`authentication failed: ${res.status} ${JSON.stringify(res.body)}`, res.status, Number.isFinite(retryAfterS) ? retryAfterS * 1000 : 0);
      }
      const token = (res.body as { token: string }).token;
      const { iat, exp } = decodeJwt(token);
      const now = Date.now();
      const lifetimeMs = exp !== undefined && iat !== undefined ? (exp - iat) * 1000 : 0;
      this.token = token;
      this.renewAt = exp === undefined ? now : exp * 1000 - Math.min(RENEW_BEFORE_MS, lifetimeMs / 10);
      this.options.onAuthenticated?.((exp ?? 0) * 1000);
    }
    return `Bearer ${this.token}`;
  }

  /**
   * Runs the commands not seen before (delivery is at-least-once) and puts a result for every
   * command received in the outbox: a redelivered one gets its result reported again.
   */
  private accept(commands: CommandView[]): void {
    const code = this.options.resultCode ?? 0;
    for (const command of commands) {
      if (!this.seen.has(command.document_id)) {
        this.seen.add(command.document_id);
        this.options.onCommand?.(command);
      }
      const message = code === 0 ? `${command.action.name}: done` : `${command.action.name}: failed`;
      this.outbox.set(command.document_id, { document_id: command.document_id, code, message });
    }
  }

  /** Reports every result in the outbox; those the server answered for leave it. */
  private async flushOutbox(authorization: string): Promise<void> {
    if (this.outbox.size === 0) return;
    const results = [...this.outbox.values()];
    const report = await requestJson({
      baseUrl: this.options.url,
      tls: this.options.tls,
      method: 'POST',
      path: '/api/v1/commands/results',
      headers: { authorization },
      body: { results },
      signal: this.abort.signal,
    });
    if (report.status !== 200) throw new Refused(`result report answered ${report.status} ${JSON.stringify(report.body)}`, report.status);
    for (const result of results) this.outbox.delete(result.document_id);
  }

  /** Once connected after a start or a problem, says so. */
  private connected(): void {
    if (this.isConnected) return;
    this.isConnected = true;
    this.options.onConnected?.();
  }

  /** Stops for good when courier refused the credentials (true); otherwise backs off before the next try. */
  private async giveUpOrBackOff(attempt: number, problem: unknown): Promise<boolean> {
    if (problem instanceof CredentialsRefused) {
      this.options.onRefused?.(problem.message);
      this.abort.abort();
      return true;
    }
    await this.backoff(attempt, problem);
    return false;
  }

  private async backoff(attempt: number, problem: unknown): Promise<void> {
    this.isConnected = false;
    this.options.onProblem?.(problem instanceof Error ? problem.message : String(problem));
    // The token is refused (expired, or its agent registered again): a new one is asked for.
    if (problem instanceof Refused && (problem.status === 401 || problem.status === 403)) this.token = null;
    const retryAfterMs = problem instanceof Refused ? problem.retryAfterMs : 0;
    const delay = Math.max(retryAfterMs, Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
    await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => {});
  }

  /**
   * Long-polls with acknowledgements: each poll names (`ack`) the commands of the previous answer
   * it read, so that an answer lost on the way is sent again instead of being recorded delivered.
   */
  private async runLongPoll(): Promise<void> {
    let failures = 0;
    let read: string[] = [];
    while (!this.stopped) {
      try {
        const authorization = await this.authorization();
        await this.flushOutbox(authorization);
        // Authenticated and heard: connected, though the poll may be held until a command comes.
        this.connected();
        const res = await requestJson({
          baseUrl: this.options.url,
          tls: this.options.tls,
          method: 'GET',
          path: `/api/v1/commands?ack=${read.map(encodeURIComponent).join(',')}`,
          headers: { authorization },
          signal: this.abort.signal,
        });
        // Answered: the acknowledgement was taken (a poll that failed on the way sends it again).
        read = [];
        if (res.status === 408) continue;
        // The token expired while the poll was held: authenticate again and poll at once.
        if (res.status === 401) {
          this.token = null;
          continue;
        }
        if (res.status !== 200) throw new Refused(`long-poll answered ${res.status} ${JSON.stringify(res.body)}`, res.status);
        const { commands } = res.body as { commands: CommandView[] };
        read = commands.map((c) => c.document_id);
        this.accept(commands);
        await this.flushOutbox(authorization);
        failures = 0;
      } catch (error) {
        if (this.stopped || (await this.giveUpOrBackOff(failures++, error))) return;
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
        const closeCode = await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(wsUrl, { headers: { authorization }, ...this.options.tls });
          this.socket = ws;
          // Acks and results go out together: one frame, or one per MAX_RESULTS_PER_REPORT results.
          const report = (ack: string[], ids: string[]) => {
            const results = ids.flatMap((id) => this.outbox.get(id) ?? []);
            if (results.length === 0) {
              if (ack.length > 0) ws.send(JSON.stringify({ type: 'ack', ids: ack }));
              return;
            }
            for (let i = 0; i < results.length; i += MAX_RESULTS_PER_REPORT) {
              const slice = results.slice(i, i + MAX_RESULTS_PER_REPORT);
              ws.send(JSON.stringify({ type: 'results', ...(i === 0 && ack.length > 0 ? { ack } : {}), results: slice }));
            }
          };
          ws.on('open', () => {
            failures = 0;
            this.connected();
            report([], [...this.outbox.keys()]); // results a broken connection may have lost
          });
          ws.on('message', (data) => {
            // One Buffer per message: binaryType stays 'nodebuffer'.
            const frame = JSON.parse((data as Buffer).toString()) as { type: string; commands?: CommandView[]; results?: { document_id: string }[]; message?: string };
            if (frame.type === 'commands' && frame.commands) {
              const ids = frame.commands.map((c) => c.document_id);
              this.accept(frame.commands);
              report(ids, ids);
            } else if (frame.type === 'results_ack' && frame.results) {
              for (const { document_id } of frame.results) this.outbox.delete(document_id);
            } else if (frame.type === 'error') {
              this.options.onProblem?.(`server error frame: ${frame.message}`);
            }
          });
          ws.on('unexpected-response', (_req, res) => reject(new Refused(`websocket upgrade answered ${res.statusCode}`, res.statusCode ?? 0)));
          ws.on('error', reject);
          ws.on('close', (code) => resolve(code));
        });
        // The token expired: authenticate again and reconnect at once (what it held unacked is delivered again).
        if (closeCode === CLOSE_TOKEN_EXPIRED) {
          this.token = null;
          continue;
        }
        if (!this.stopped) await this.backoff(failures++, `websocket closed (${closeCode})`);
      } catch (error) {
        if (this.stopped || (await this.giveUpOrBackOff(failures++, error))) return;
      }
    }
  }
}
