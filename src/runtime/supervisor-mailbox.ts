import type { Actor } from 'xstate';
import type { supervisorMachine, SupervisorEvent, SupervisorNoticeType, SupervisorRequestType } from '../../machines/supervisor.machine.js';
import { errors } from '../errors.js';
import { selfTransitionActions, type ProvidedAction } from './self-transitions.js';
import type { SupervisorNotices, SupervisorRequests } from './supervisor-events.js';

/** The state in which the supervisor takes its edge events without leaving it (machines/supervisor.machine.ts). */
const RUNNING = 'running';

export interface SupervisorMailboxOptions {
  /**
   * Every event through the actor (an inspector is watching: it sees each one). Otherwise an event
   * the running supervisor handles without leaving `running` has its actions run directly.
   */
  throughActor: boolean;
  /** An action of a directly handled event threw: the supervisor is stopped, as the actor would be. */
  onError: (error: unknown) => void;
}

/**
 * How the edges reach the supervisor actor: every call is an event in its one mailbox. A request
 * carries a reply the supervisor's action settles; a notice is only told.
 *
 * While the supervisor is `running`, most events are self-transitions: no guard, no target, named
 * actions (see `selfTransitionActions`). Those actions are run here, in order, as XState would run
 * them, without XState's macrostep per event (a snapshot, sets of state nodes and action arrays
 * built for every agent's frame: measured, see docs/performance.md). Everything else — starting,
 * STOP, draining, any event whose transition the definition changes — goes through the actor.
 * Events sent while an action runs wait until it returns, as in the actor's own mailbox.
 */
export class SupervisorMailbox {
  private readonly direct: Map<string, ProvidedAction[]>;
  private busy = false;
  private readonly waiting: SupervisorEvent[] = [];
  /** An action run here threw: every later request is refused, as a stopped actor's would be. */
  private failed = false;

  constructor(
    private readonly actor: Actor<typeof supervisorMachine>,
    private readonly options: SupervisorMailboxOptions,
  ) {
    this.direct = options.throughActor ? new Map<string, ProvidedAction[]>() : selfTransitionActions(actor.logic, RUNNING);
  }

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
    if (this.busy) {
      this.waiting.push(event);
      return;
    }
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status !== 'active' || this.failed) {
      if ('reply' in event) event.reply.reject(errors.SHUTTING_DOWN());
      return;
    }
    const actions = snapshot.value === RUNNING ? this.direct.get(event.type) : undefined;
    if (actions === undefined) return this.actor.send(event);
    this.busy = true;
    try {
      const args = { context: snapshot.context, event, self: this.actor, system: this.actor.system };
      for (const action of actions) action.run(args, action.params);
    } catch (error) {
      this.failed = true;
      this.options.onError(error);
      this.actor.stop();
    } finally {
      this.busy = false;
    }
    while (this.waiting.length > 0 && !this.busy) this.post(this.waiting.shift()!);
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
