import type { FastifyReply } from 'fastify';
import { errors, toErrorBody } from '../errors.js';
import type { SupervisorPort } from '../runtime/supervisor-port.js';

// In the HTTP kernel: agents (agents-api/) and server components (admin-api/) both long-poll.

/** Most `document_id`s one `ack` may name: a few answers' worth. */
export const MAX_ACKED_IDS = 1000;

/**
 * The `ack` query parameter: a comma-separated list of the `document_id`s the client read from
 * its previous answer, possibly empty (`?ack=`); absent, null (the client does not acknowledge).
 */
export function parseAck(ack: string | undefined): string[] | null {
  if (ack === undefined) return null;
  const ids = ack.split(',').filter((id) => id !== '');
  if (ids.length > MAX_ACKED_IDS) throw errors.VALIDATION(`querystring/ack names ${ids.length} commands; at most ${MAX_ACKED_IDS}`);
  return ids;
}

/** Up to 10% (at most 30 s) earlier than the configured timeout, so that a fleet does not re-poll in step. */
export function jitteredTimeout(timeoutMs: number, random = Math.random): number {
  return Math.round(timeoutMs - random() * Math.min(timeoutMs * 0.1, 30_000));
}

/** How a poll is held: for how long, until when its credentials hold, and what it acknowledges. */
export interface LongPollOptions {
  timeoutMs: number;
  /** The credentials it was opened with expire in this many ms (a poll must not outlive its token). */
  expiresInMs?: number;
  /** The `ack` query parameter, parsed: present (even empty), the agent acknowledges (see `parseAck`). */
  acked?: string[] | null;
}

/**
 * Holds an HTTP request open as a long-poll subscription of `route`. It is answered once:
 * 200 `{"commands":[…]}` when work arrives, 408 after the timeout, 503 on shutdown, and 401 when
 * the credentials it was opened with expire first.
 * Once the answer has been fully handed to the socket, the subscription's machine is told: for an
 * agent that does not acknowledge, that is delivery; one that does confirms on its next poll.
 * If the client goes away before, they go back to pending.
 */
export function holdLongPoll(
  supervisor: Pick<SupervisorPort, 'subscribe' | 'unsubscribe' | 'written'>,
  reply: FastifyReply,
  route: string,
  who: string,
  options: LongPollOptions,
): FastifyReply {
  const raw = reply.raw;
  const expiresInMs = options.expiresInMs ?? Infinity;
  const sub = supervisor.subscribe(
    route,
    'long-poll',
    who,
    {
      push: (commands) => {
        // Shutting down: the supervisor drops it; the drain (or the restart's recovery) hands them out again.
        raw.once('finish', () => supervisor.written(sub));
        void reply.code(200).send({ commands });
      },
      timedOut: () => void reply.code(errors.LONG_POLL_TIMEOUT.statusCode).send(toErrorBody(errors.LONG_POLL_TIMEOUT())),
      drain: () => void reply.code(503).send(toErrorBody(errors.SHUTTING_DOWN())),
      revoked: () => void reply.code(errors.INVALID_TOKEN.statusCode).send(toErrorBody(errors.INVALID_TOKEN())),
    },
    { longPollTimeoutMs: jitteredTimeout(options.timeoutMs), acked: options.acked ?? null },
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
