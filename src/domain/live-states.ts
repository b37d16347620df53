import type { StateValue } from 'xstate';

/** How many live actors of one machine stand in each state, and the first few of them by id. */
export interface LiveStates {
  /** By state path (`pending`, `active.poll.tailing`); an actor in a parallel state counts in each of its states. */
  counts: Record<string, number>;
  actors: { id: string; states: string[] }[];
}

/** Most actors listed per machine; the counts cover them all. */
const LISTED = 50;

/** Gathers where the live actors of each machine stand, by the machine's id (`command`, `job`, …). */
export class LiveStateTally {
  private readonly byMachine = new Map<string, LiveStates>();

  add(machine: string, id: string, value: StateValue): void {
    const found = this.byMachine.get(machine) ?? this.byMachine.set(machine, { counts: {}, actors: [] }).get(machine)!;
    const states = statePaths(value);
    for (const state of states) found.counts[state] = (found.counts[state] ?? 0) + 1;
    if (found.actors.length < LISTED) found.actors.push({ id, states });
  }

  get machines(): Record<string, LiveStates> {
    return Object.fromEntries(this.byMachine);
  }
}

/** A state value as the paths of the states it is in: `'sent'` → `['sent']`; `{ active: { poll: 'tailing', rescan: 'ticking' } }` → `['active.poll.tailing', 'active.rescan.ticking']`. */
export function statePaths(value: StateValue): string[] {
  if (typeof value === 'string') return [value];
  return Object.entries(value).flatMap(([key, inner]) => (inner === undefined ? [key] : statePaths(inner).map((path) => `${key}.${path}`)));
}
