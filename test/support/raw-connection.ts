import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  body: unknown;
}

/**
 * A bare TCP connection to an HTTP listener, for what a client library hides: writing a request
 * byte by byte, keeping one connection open across requests, reading what the server sends
 * before (or instead of) an answer, and seeing exactly when the server closes.
 */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => {}); // a reset is a close here
    socket.once('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(baseUrl: string): Promise<RawConnection> {
    const url = new URL(baseUrl);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    await once(socket, 'connect');
    return new RawConnection(socket);
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** A keep-alive request with an optional JSON body and headers. */
  request(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): void {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: courier', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
    this.write(`${lines.join('\r\n')}\r\n\r\n${payload}`);
  }

  /**
   * The next complete response on this connection (it must carry a Content-Length). Fails if the
   * socket closes first, or if none has come within `timeoutMs` (a bound for a failing test, not a timing).
   */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.take();
      if (parsed) return parsed;
      if (this.socket.destroyed) throw new Error(`connection closed before a complete response (got ${JSON.stringify(this.buffer.toString())})`);
      if (!(await this.wait(deadline))) throw new Error(`no complete response within ${timeoutMs} ms (got ${JSON.stringify(this.buffer.toString())})`);
    }
  }

  /** Resolves once the socket is closed; fails if it is still open after `timeoutMs`. */
  async closedWithin(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.socket.destroyed) {
      if (!(await this.wait(deadline))) throw new Error(`still open after ${timeoutMs} ms`);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Until data arrives or the socket closes (true), or the deadline passes (false). */
  private wait(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private take(): RawResponse | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = this.buffer.subarray(0, end).toString();
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return null;
    const text = this.buffer.subarray(end + 4, end + 4 + length).toString();
    this.buffer = this.buffer.subarray(end + 4 + length);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: Number(head.split(' ')[1]), body };
  }
}
