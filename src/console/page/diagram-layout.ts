// A machine's diagram as courier lays it out (src/console/machine-layout.ts) and the page draws it
// (diagram.ts): one definition for both sides of the wire. It imports nothing, so that both the
// server's build and the page's build compile it.

export interface MachineLayout {
  width: number;
  height: number;
  states: LaidOutState[];
  transitions: LaidOutTransition[];
}

export interface LaidOutState {
  /** The state's path joined by dots (`pending`, `active.tail.tailing`): what live actors report. */
  path: string;
  key: string;
  /** `any`: the box of the machine's own transitions (path `ANY_STATE_PATH`). */
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history' | 'any';
  initial: boolean;
  notes: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutTransition {
  source: string;
  target: string;
  /** The event type it is taken on, as the machine names it (`CANCEL`, `xstate.done.actor.recover`). */
  event: string;
  label: string;
  /** The label cut before its guard and its actions, one line each. */
  lines: string[];
  points: { x: number; y: number }[];
  labelX: number;
  labelY: number;
}

/** The path of the box the machine's own transitions start from. */
export const ANY_STATE_PATH = '*';
