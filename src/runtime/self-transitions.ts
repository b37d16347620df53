import type { AnyStateMachine } from 'xstate';

/** What XState hands an action: the actor's context, the event, the actor and its system. */
export interface ActionArgs {
  context: unknown;
  event: unknown;
  self: unknown;
  system: unknown;
}

/** A named action as a transition lists it, with the implementation the machine was provided. */
export interface ProvidedAction {
  type: string;
  params: unknown;
  run: (args: ActionArgs, params: unknown) => void;
}

/**
 * The events a state handles without leaving it, and the actions each runs, read from the
 * machine's definition: for each event type, the one transition XState would take in that state
 * (the state's own, or else its root's) when it has no guard and no target and its actions are all
 * named and provided. Taking such an event changes nothing but what its actions do, so an actor in
 * that state may be handed the event by running those actions, in order, without a macrostep.
 * Event types with anything else (a target, a guard, several candidates, an inline action) are
 * left out: they go through the actor.
 */
export function selfTransitionActions(machine: AnyStateMachine, stateKey: string): Map<string, ProvidedAction[]> {
  const state = machine.root.states[stateKey];
  if (state === undefined) throw new Error(`selfTransitionActions: the machine "${machine.id}" has no state "${stateKey}"`);
  const provided = (machine.implementations.actions ?? {}) as Record<string, unknown>;
  const direct = new Map<string, ProvidedAction[]>();
  const types = new Set([...state.transitions.keys(), ...machine.root.transitions.keys()]);
  for (const type of types) {
    const candidates = state.transitions.get(type) ?? machine.root.transitions.get(type)!;
    if (candidates.length !== 1) continue;
    const [t] = candidates;
    if (t!.guard !== undefined || t!.target !== undefined || t!.reenter) continue;
    const actions: ProvidedAction[] = [];
    for (const a of t!.actions) {
      const named = typeof a === 'string' ? { type: a, params: undefined } : typeof a === 'object' && a !== null && typeof (a as { type?: unknown }).type === 'string' ? a : null;
      const run = named && provided[named.type];
      if (!named || typeof run !== 'function' || typeof named.params === 'function') break;
      actions.push({ type: named.type, params: named.params, run: run as ProvidedAction['run'] });
    }
    if (actions.length === t!.actions.length) direct.set(type, actions);
  }
  return direct;
}
