import { commandMachine, type CommandMachineEvent } from '../../machines/command.machine.js';
import type { CommandStatus } from '../domain/command.js';

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
