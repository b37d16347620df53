import type { FastifyReply } from 'fastify';
import { errors, toErrorBody } from '../errors.js';
import type { Supervisor } from '../runtime/supervisor.js';

// In the HTTP kernel: agents (agents-api/) and server components (admin-api/) both long-poll.

/** Up to 10% (at most 30 s) earlier than the configured timeout, so that a fleet does not re-poll in step. */
export function jitteredTimeout(timeoutMs: number, random = Math.random): number {
  return Math.round(timeoutMs - random() * Math.min(timeoutMs * 0.1, 30_000));
}

/**
 * Holds an HTTP request open as a long-poll subscription of `route`. It is answered once:
 * 200 `{"commands":[…]}` when work arrives, 408 after the timeout, 503 on shutdown, and 401 when
 * the credentials it was opened with expire first (`expiresInMs`; a poll must not outlive its token).
 * The commands count as delivered only when the answer has been fully handed to the socket;
 * if the client goes away first, they go back to pending.
 */
export function holdLongPoll(supervisor: Supervisor, reply: FastifyReply, route: string, who: string, timeoutMs: number, expiresInMs = Infinity): FastifyReply {
  const raw = reply.raw;
  const sub = supervisor.subscribe(
    route,
    'long-poll',
    who,
    {
      push: (commands) => {
        raw.once('finish', () => {
          // Shutting down: not confirmed; the drain (or the restart's recovery) hands them out again.
          if (supervisor.running)
            supervisor.confirm(
              sub,
              commands.map((c) => c.document_id),
            );
        });
        void reply.code(200).send({ commands });
      },
      timedOut: () => void reply.code(errors.LONG_POLL_TIMEOUT.statusCode).send(toErrorBody(errors.LONG_POLL_TIMEOUT())),
      drain: () => void reply.code(503).send(toErrorBody(errors.SHUTTING_DOWN())),
      revoked: () => void reply.code(errors.INVALID_TOKEN.statusCode).send(toErrorBody(errors.INVALID_TOKEN())),
    },
    jitteredTimeout(timeoutMs),
  );
  // Only while nothing was answered: a poll answered meanwhile (its commands on their way) is left be.
  const expiry = Number.isFinite(expiresInMs)
    ? setTimeout(
        () => {
          if (reply.sent || sub.closed) return;
          supervisor.unsubscribe(sub);
          void reply.code(errors.EXPIRED_TOKEN.statusCode).send(toErrorBody(errors.EXPIRED_TOKEN()));
        },
        Math.max(0, expiresInMs),
      )
    : undefined;
  raw.once('close', () => {
    clearTimeout(expiry);
    supervisor.unsubscribe(sub);
  });
  // A client that went away while its request was being authenticated has had its 'close' already:
  // without this its subscription would live on, and take (and strand in `sent`) its next command.
  if (raw.destroyed) {
    clearTimeout(expiry);
    supervisor.unsubscribe(sub);
  }
  return reply;
}
