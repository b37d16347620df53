import { createActor, type Actor } from 'xstate';
import { commandMachine, type CommandMachineEvent, type PersistParams } from '../../machines/command.machine.js';
import type { CommandDocument, CommandState, CommandStatus, CommandView } from '../domain/command.js';
import { commandView } from '../domain/command.js';
import { errors } from '../errors.js';
import type { ActorErrorHandler, InspectObserver } from './actor-observers.js';
import { hasTag, isFinalStatus, type CommandTag } from './command-states.js';
import { machineStepper, type FlatSnapshotOf } from './machine-stepper.js';
import type { MembershipChange } from '../store/records.js';

type CommandSnapshot = FlatSnapshotOf<typeof commandMachine>;

/** The command machine's transition function, compiled once from its definition (see machine-stepper.ts). */
const transition = machineStepper(commandMachine);
export type WriteOutcome = 'ok' | 'conflict';

/** Where a command's lifecycle stands: its status and machine context, as the store keeps it. */
export type Resting = Pick<CommandState, 'status' | 'result' | 'deliveredAt' | 'executionDeadline' | 'attempts'>;

/** One transition being carried out: the event, and the status it left. */
export interface Step {
  event: CommandMachineEvent;
  from: CommandStatus;
}

/**
 * The runtime's implementations of the effects the command machine names, by name. Each gets
 * the command (already in its new state), the step, and the params the machine gave.
 */
export interface CommandEffects {
  applyResult(command: LiveCommand, step: Step): void;
  persist(command: LiveCommand, step: Step, params: PersistParams): void;
  enqueue(command: LiveCommand, step: Step): void;
  handToConnection(command: LiveCommand, step: Step): void;
  releaseFromConnection(command: LiveCommand, step: Step): void;
  armExecutionDeadline(command: LiveCommand, step: Step): void;
  observeDelivery(command: LiveCommand, step: Step): void;
  retire(command: LiveCommand, step: Step): void;
}
export type CommandEffectName = keyof CommandEffects;

/** What every live command shares: one object for all of them. */
export interface CommandLifecycle {
  effects: CommandEffects;
  executionTimeoutMs: number;
  onError: ActorErrorHandler;
  /** With inspection on, every command also runs as an actor the inspector can watch. */
  inspect?: InspectObserver | undefined;
}

/**
 * A live (unfinished) command: its document and where its lifecycle stands.
 *
 * Events advance its machine snapshot with the machine's transition function (XState's pure
 * `transition()`, compiled: see machine-stepper.ts), which returns the next snapshot and the
 * actions the machine names for that transition; those are then run by name from `CommandEffects`.
 * Until its first event the command rests as its status and context (its
 * persisted state, ~0.1 KB), so that a node holds many pending commands of offline agents cheaply
 * and restarts fast. With inspection on, a mirror actor receives the same events so that the
 * inspector shows every command, its events and its named actions (the mirror's actions do nothing).
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
  /** The store write of its latest transition (set by `persist`). */
  write: Promise<WriteOutcome> | null = null;
  /** What the transition under way changes in the registry: staged by `applyResult`, written (and cleared) by `persist`. */
  membership: MembershipChange | null = null;
  private snapshot: CommandSnapshot | null = null;
  private resting: Resting | null;
  private mirror: Actor<typeof commandMachine> | null = null;

  /**
   * Throws (COURIER_ERR_INVALID_COMMAND_TIME) when a time of the command is not a finite number:
   * it would sit in the route queue and the deadline queue unordered and never come due.
   */
  constructor(
    readonly doc: CommandDocument,
    state: Resting,
    private readonly lifecycle: CommandLifecycle,
  ) {
    const { status, result, deliveredAt, executionDeadline, attempts } = state;
    this.createdAt = finiteTime(doc.document_id, '@timestamp', Date.parse(doc['@timestamp']), doc['@timestamp']);
    this.deliveryDeadline = finiteTime(doc.document_id, 'delivery_timestamp', Date.parse(doc.delivery_timestamp), doc.delivery_timestamp);
    if (executionDeadline !== null) finiteTime(doc.document_id, 'the execution deadline', executionDeadline, executionDeadline);
    this.readySince = this.createdAt;
    this.resting = { status, result, deliveredAt, executionDeadline, attempts };
    if (lifecycle.inspect) this.mirror = this.startMirror(lifecycle.inspect);
  }

  get status(): CommandStatus {
    return this.snapshot ? this.snapshot.value : this.resting!.status;
  }

  /** Where its lifecycle stands. */
  get state(): Resting {
    if (!this.snapshot) return this.resting!;
    const { value, context } = this.snapshot;
    return { status: value, result: context.result, deliveredAt: context.deliveredAt, executionDeadline: context.executionDeadline, attempts: context.attempts };
  }

  hasTag(tag: CommandTag): boolean {
    return hasTag(this.status, tag);
  }

  /**
   * Sends an event and runs the effects of the transition it causes, in the machine's order.
   * Returns the write of that transition, or null when the machine did not take the event.
   */
  send(event: CommandMachineEvent): Promise<WriteOutcome> | null {
    const before = this.current();
    const [after, actions] = transition(before, event);
    if (after === before) return null;
    this.snapshot = after;
    this.resting = null;
    this.write = null;
    this.mirror?.send(event);
    const step: Step = { event, from: before.value };
    const { effects, onError } = this.lifecycle;
    for (const action of actions) {
      try {
        // The machine's names are the keys of `CommandEffects` (a test checks both ways).
        effects[action.type as CommandEffectName](this, step, action.params as PersistParams);
      } catch (error) {
        onError(error);
      }
    }
    return this.write;
  }

  view(): CommandView {
    const result = this.snapshot ? this.snapshot.context.result : this.resting!.result;
    return commandView({ doc: this.doc, status: this.status, result });
  }

  fullState(): CommandState {
    return { doc: this.doc, ...this.state };
  }

  /** The actor the inspector watches (with inspection on). */
  get inspected(): Actor<typeof commandMachine> | null {
    return this.mirror;
  }

  /** Stops its mirror actor, if inspected. */
  stop(): void {
    this.mirror?.stop();
  }

  private current(): CommandSnapshot {
    if (this.snapshot) return this.snapshot;
    const { status, ...rest } = this.resting!;
    return {
      value: status,
      context: { deliveryDeadline: this.deliveryDeadline, executionTimeoutMs: this.lifecycle.executionTimeoutMs, ...rest },
      status: isFinalStatus(status) ? 'done' : 'active',
    };
  }

  private startMirror(inspect: InspectObserver): Actor<typeof commandMachine> {
    // Named after its command, for the viewer.
    const { value, context } = this.current();
    const actor = createActor(commandMachine, {
      input: { deliveryDeadline: this.deliveryDeadline, executionTimeoutMs: this.lifecycle.executionTimeoutMs },
      snapshot: commandMachine.resolveState({ value, context }),
      inspect,
      id: this.doc.document_id,
    });
    actor.subscribe({ error: this.lifecycle.onError });
    return actor.start();
  }
}

function finiteTime(id: string, what: string, ms: number, raw: unknown): number {
  if (!Number.isFinite(ms)) throw errors.INVALID_COMMAND_TIME(id, what, raw);
  return ms;
}
