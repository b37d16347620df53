import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { toErrorBody, type CourierError } from '../errors.js';

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
