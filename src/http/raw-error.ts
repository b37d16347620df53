import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { toErrorBody, type CourierError } from '../errors.js';

/** How long a connection being closed may take to take in its answer before it is destroyed anyway (ms). */
const CLOSE_GRACE_MS = 1000;

/**
 * Answers on a bare socket, where no fastify reply exists (a refused WebSocket upgrade, a request
 * Node could not parse), with a complete HTTP response in courier's `{"message","code"}` shape.
 */
export function endWithError(socket: Duplex, error: CourierError): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(toErrorBody(error));
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Answers like `endWithError` (when `error` is given and the socket can still be written), then
 * closes the connection for good: `end` alone only half-closes it, and a client that keeps its own
 * side open (or never reads) would go on holding the socket. Destroyed once the answer is written,
 * or after a short grace.
 */
export function closeWithError(socket: Duplex, error: CourierError | null): void {
  if (socket.destroyed) return;
  if (error === null || !socket.writable) {
    socket.destroy();
    return;
  }
  endWithError(socket, error);
  const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(grace));
  socket.once('finish', () => socket.destroy());
}
