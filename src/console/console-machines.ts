import type { AnyStateMachine } from 'xstate';
import { commandMachine } from '../../machines/command.machine.js';
import { indexerPollerMachine } from '../../machines/indexer-poller.machine.js';
import { jobMachine } from '../../machines/job.machine.js';
import { longPollSubscriptionMachine } from '../../machines/long-poll-subscription.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { webSocketSubscriptionMachine } from '../../machines/websocket-subscription.machine.js';
import { layOutMachine, type MachineLayout } from './machine-layout.js';

/** A machine as the console shows it: what it is, where it is defined, and its diagram laid out. */
export interface ConsoleMachine {
  id: string;
  title: string;
  file: string;
  layout: MachineLayout;
}

/** Every machine of the runtime, in the order an operator meets them. */
const MACHINES: [AnyStateMachine, string, string][] = [
  [commandMachine, 'A command', 'machines/command.machine.ts'],
  [jobMachine, 'A job (a rollout of commands)', 'machines/job.machine.ts'],
  [webSocketSubscriptionMachine, "An agent's WebSocket subscription", 'machines/websocket-subscription.machine.ts'],
  [longPollSubscriptionMachine, "An agent's long-poll", 'machines/long-poll-subscription.machine.ts'],
  [supervisorMachine, 'The supervisor', 'machines/supervisor.machine.ts'],
  [indexerPollerMachine, 'The indexer poller (OpenSearch)', 'machines/indexer-poller.machine.ts'],
];

let laidOut: ConsoleMachine[] | null = null;

/** The machines with their diagrams, laid out once (a few tens of ms each) on first use. */
export function consoleMachines(): ConsoleMachine[] {
  laidOut ??= MACHINES.map(([machine, title, file]) => ({ id: machine.id, title, file, layout: layOutMachine(machine) }));
  return laidOut;
}
