import { commandMachine, type CommandMachineEvent } from '../../machines/command.machine.js';
import type { CommandStatus } from '../domain/command.js';
import { machineStepper } from './machine-stepper.js';

/**
 * Questions about a command's status, answered by the machine's definition rather than by
 * comparing status names: a command at rest (no snapshot) is asked without resolving one.
 */
export type CommandTag = 'queued' | 'claimed';

const states = commandMachine.root.states;

function node(status: CommandStatus) {
  const found = states[status];
  if (!found) throw new Error(`the command machine has no state ${status}`);
  return found;
}

/** Whether the state carries the tag (`queued`: waits on its route; `claimed`: held by a connection). */
export function hasTag(status: CommandStatus, tag: CommandTag): boolean {
  return node(status).tags.includes(tag);
}

/** A final state: the command's lifecycle is over. */
export function isFinalStatus(status: CommandStatus): boolean {
  return node(status).type === 'final';
}

/** Whether the state has a transition for the event type (its guards aside). */
export function acceptsEvent(status: CommandStatus, type: CommandMachineEvent['type']): boolean {
  return node(status).on[type] !== undefined;
}

const step = machineStepper(commandMachine);

/**
 * Whether the deadline that applies in this status has passed (delivery, or execution once
 * delivered): whether the machine would take a `DEADLINE` now. Its guards decide, not a status name.
 */
export function deadlinePassed(status: CommandStatus, deadlines: { deliveryDeadline: number; executionDeadline: number | null }, now: number): boolean {
  const context = { ...deadlines, executionTimeoutMs: 0, deliveredAt: null, attempts: 0, result: null };
  const snapshot = { value: status, context, status: isFinalStatus(status) ? ('done' as const) : ('active' as const) };
  return step(snapshot, { type: 'DEADLINE', at: now })[0] !== snapshot;
}
