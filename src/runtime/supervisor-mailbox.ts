import type { Actor } from 'xstate';
import type { supervisorMachine, SupervisorEvent, SupervisorNoticeType, SupervisorRequestType } from '../../machines/supervisor.machine.js';
import { errors } from '../errors.js';
import type { SupervisorNotices, SupervisorRequests } from './supervisor-events.js';

/**
 * How the edges reach the supervisor actor: every call is an event in its one mailbox. A request
 * carries a reply the supervisor's action settles; a notice is only told.
 */
export class SupervisorMailbox {
  constructor(private readonly actor: Actor<typeof supervisorMachine>) {}

  /** Sends a request to the supervisor and waits for its answer. */
  ask<T extends SupervisorRequestType>(type: T, request: SupervisorRequests[T]['request']): Promise<SupervisorRequests[T]['answer']> {
    return new Promise((resolve, reject) => this.post({ type, request, reply: { resolve: (value) => resolve(value as SupervisorRequests[T]['answer']), reject } }));
  }

  /** Sends a request the supervisor answers while it handles it (the caller needs the answer now). */
  askNow<T extends SupervisorRequestType>(type: T, request: SupervisorRequests[T]['request']): SupervisorRequests[T]['answer'] {
    const box: { settled?: { value: unknown } | { error: unknown } } = {};
    this.post({ type, request, reply: { resolve: (value) => (box.settled = { value }), reject: (error) => (box.settled = { error }) } });
    // Sent from inside one of the supervisor's own actions, it would wait in the mailbox: a bug here.
    const { settled } = box;
    if (!settled) throw new Error(`the supervisor did not answer ${type} at once`);
    if ('error' in settled) throw settled.error;
    return settled.value as SupervisorRequests[T]['answer'];
  }

  tell<T extends SupervisorNoticeType>(type: T, request: SupervisorNotices[T]): void {
    this.post({ type, request });
  }

  /** A stopped supervisor takes no events: requests are refused, notices dropped. */
  private post(event: SupervisorEvent): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.send(event);
    else if ('reply' in event) event.reply.reject(errors.SHUTTING_DOWN());
  }
}

/** Runs a request's handler and answers the edge when it settles. */
export function answer<R>(event: SupervisorEvent, handle: (request: R) => Promise<unknown>): void {
  if (!('reply' in event)) return;
  const { reply } = event;
  try {
    void handle(event.request as R).then(reply.resolve, reply.reject);
  } catch (error) {
    reply.reject(error);
  }
}

/** Runs a request's handler and answers the edge at once. */
export function answerNow<R>(event: SupervisorEvent, handle: (request: R) => unknown): void {
  if (!('reply' in event)) return;
  try {
    event.reply.resolve(handle(event.request as R));
  } catch (error) {
    event.reply.reject(error);
  }
}

/** A notice's payload, typed by its event type. */
export function notice<T extends SupervisorNoticeType>(event: SupervisorEvent): SupervisorNotices[T] {
  return (event as { request: SupervisorNotices[T] }).request;
}
