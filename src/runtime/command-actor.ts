import { createActor, type Actor, type InspectionEvent } from 'xstate';
import { commandMachine, type CommandMachineEvent } from '../../machines/command.machine.js';
import type { CommandDocument, CommandState, CommandStatus, CommandView } from '../domain/command.js';
import { commandView } from '../domain/command.js';
import { errors } from '../errors.js';
import type { StatusChange } from '../store/store.js';

export type CommandActor = Actor<typeof commandMachine>;

/** One shared observer: an actor error is logged, never thrown (an unhandled one would crash the process). */
export type ActorErrorHandler = (error: unknown) => void;

/**
 * An optional inspection observer (the Stately inspector bridge), attached to every root actor
 * only when inspection is on. XState calls it synchronously and unguarded on every event.
 */
export type InspectObserver = (event: InspectionEvent) => void;

/** Wraps an inspection observer so that it can never throw into an actor. */
export function guardInspect(observer: InspectObserver): InspectObserver {
  return (event) => {
    try {
      observer(event);
    } catch {
      // Inspection is best effort: a failing observer must not affect the actor.
    }
  };
}

type Resting = Pick<CommandState, 'status' | 'result' | 'deliveredAt' | 'executionDeadline' | 'attempts'>;

/** What every command actor is started with: one object, shared by all of them. */
export interface ActorSettings {
  executionTimeoutMs: number;
  onError: ActorErrorHandler;
  inspect?: InspectObserver | undefined;
}

/**
 * A live (unfinished) command: its document and the actor that runs its lifecycle.
 *
 * The actor is started at the command's first event. Until then the command rests in the state
 * the actor would be started from (its status and context, i.e. its persisted snapshot): about
 * 0.1 KB instead of the ~4 KB of a running XState actor, so that a node holds many pending
 * commands of offline agents cheaply and restarts fast. With inspection on, actors start at once
 * so that the inspector sees every command.
 */
export class LiveCommand {
  /** `@timestamp` in ms: the first key of per-target order. */
  readonly createdAt: number;
  /** `delivery_timestamp` in ms. */
  readonly deliveryDeadline: number;
  /**
   * Since when it could have been delivered: when it last became pending, or later, when a
   * subscriber of its target arrived. Delivery minus this is the dispatch latency.
   */
  readySince: number;
  private running: CommandActor | null = null;
  private resting: Resting | null;

  /**
   * Throws (COURIER_ERR_INVALID_COMMAND_TIME) when a time of the command is not a finite number:
   * it would sit in the route queue and the deadline queue unordered and never come due.
   */
  constructor(
    readonly doc: CommandDocument,
    state: Resting,
    private readonly settings: ActorSettings,
  ) {
    const { status, result, deliveredAt, executionDeadline, attempts } = state;
    this.createdAt = finiteTime(doc.document_id, '@timestamp', Date.parse(doc['@timestamp']), doc['@timestamp']);
    this.deliveryDeadline = finiteTime(doc.document_id, 'delivery_timestamp', Date.parse(doc.delivery_timestamp), doc.delivery_timestamp);
    if (executionDeadline !== null) finiteTime(doc.document_id, 'the execution deadline', executionDeadline, executionDeadline);
    this.readySince = this.createdAt;
    this.resting = { status, result, deliveredAt, executionDeadline, attempts };
    if (settings.inspect) void this.actor;
  }

  /** The actor; started from the resting state on first use. */
  get actor(): CommandActor {
    if (!this.running) {
      const { executionTimeoutMs, onError, inspect } = this.settings;
      this.running = startCommandActor({ doc: this.doc, ...this.resting! }, this.deliveryDeadline, executionTimeoutMs, onError, inspect);
      this.resting = null;
    }
    return this.running;
  }

  /** Where its lifecycle stands, read without starting the actor. */
  get state(): Resting {
    if (!this.running) return this.resting!;
    const { value, context } = this.running.getSnapshot();
    return {
      status: value as CommandStatus,
      result: context.result,
      deliveredAt: context.deliveredAt,
      executionDeadline: context.executionDeadline,
      attempts: context.attempts,
    };
  }

  stop(): void {
    this.running?.stop();
  }
}

function finiteTime(id: string, what: string, ms: number, raw: unknown): number {
  if (!Number.isFinite(ms)) throw errors.INVALID_COMMAND_TIME(id, what, raw);
  return ms;
}

export function startCommandActor(
  state: Pick<CommandState, 'doc' | 'status' | 'result' | 'deliveredAt' | 'executionDeadline' | 'attempts'>,
  deliveryDeadline: number,
  executionTimeoutMs: number,
  onError: ActorErrorHandler,
  inspect?: InspectObserver,
): CommandActor {
  const input = { deliveryDeadline, executionTimeoutMs };
  const snapshot =
    state.status === 'pending' && state.attempts === 0
      ? undefined
      : commandMachine.resolveState({
          value: state.status,
          context: {
            ...input,
            executionDeadline: state.executionDeadline,
            deliveredAt: state.deliveredAt,
            attempts: state.attempts,
            result: state.result,
          },
        });
  const options = snapshot ? { input, snapshot } : { input };
  // Inspected actors are named after their command, for the viewer.
  const actor = createActor(commandMachine, inspect ? { ...options, inspect, id: state.doc.document_id } : options);
  actor.subscribe({ error: onError });
  actor.start();
  return actor;
}

export function statusOf(live: LiveCommand): CommandStatus {
  return live.state.status;
}

export function liveView(live: LiveCommand): CommandView {
  return commandView({ doc: live.doc, ...live.state });
}

export function liveState(live: LiveCommand): CommandState {
  return { doc: live.doc, ...live.state };
}

export interface Transition {
  from: CommandStatus;
  to: CommandStatus;
  change: StatusChange;
}

/**
 * Sends one event to a command actor. Events are processed synchronously, so comparing the
 * state before and after tells whether the machine took a transition; if it did, the returned
 * change (status + audit record) is what must be persisted. `null`: the event was not accepted.
 */
export function applyEvent(
  live: LiveCommand,
  event: CommandMachineEvent,
  cause: string,
  who: string,
  node: string,
  claimLeaseMs: number,
): Transition | null {
  const from = statusOf(live);
  live.actor.send(event);
  const { value, context } = live.actor.getSnapshot();
  const to = value as CommandStatus;
  if (to === from) return null;
  return {
    from,
    to,
    change: {
      document_id: live.doc.document_id,
      seq: live.doc.seq,
      status: to,
      result: context.result,
      deliveredAt: context.deliveredAt,
      executionDeadline: context.executionDeadline,
      attempts: context.attempts,
      claim: to === 'sent' ? { node, until: event.at + claimLeaseMs } : null,
      audit: { document_id: live.doc.document_id, from, to, cause, at: event.at, node, actor: who },
    },
  };
}
