import type { AnyStateMachine } from 'xstate';

/**
 * A machine's shape read from its definition alone: its states (nested and parallel ones too),
 * each with its notes (description, entry/exit actions, invocations), and every transition with
 * a label that names its trigger, guard and actions (`RESULT [resultIsSuccess] / persist(succeeded)`;
 * the unguarded fallback after a guarded one is `[else]`). Both drawings of the machines read it:
 * docs/machines.md (Mermaid) and the console's diagrams. It follows the definition's own order.
 */
export interface MachineStructure {
  root: MachineState;
  transitions: MachineTransition[];
}

/** How both drawings name what the machine's own transitions start from. */
export const ANY_STATE = '(any state)';

export interface MachineState {
  /** XState's id of the state node (unique in the machine). */
  id: string;
  /** The keys from the root down (`[]` for the root, `['pending']`, `['running', 'polling']`). */
  path: string[];
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  history?: 'deep' | 'shallow';
  /** The id of the initial child, if it has one. */
  initial?: string;
  children: MachineState[];
  notes: string[];
}

export interface MachineTransition {
  /**
   * State ids. A transition without a target stays in its state: `target === source`. A transition
   * of the machine itself (its root's `on`) has the root as its source: it is taken in any state
   * that does not handle the event itself, final states aside.
   */
  source: string;
  target: string;
  /** The event type it is taken on, as the machine names it (`CANCEL`, `xstate.done.actor.recover`). */
  event: string;
  label: string;
}

/** The parts of XState's `StateNode` read here (its public, documented shape). */
interface Node {
  key: string;
  id: string;
  type: MachineState['type'];
  description?: string;
  states: Record<string, Node>;
  initial?: { target: readonly Node[] } | undefined;
  parent?: Node;
  transitions: Map<string, readonly Transition[]>;
  always?: readonly Transition[];
  after: readonly { eventType: string; delay: string | number }[];
  invoke: readonly { id: string; src: unknown }[];
  /** The literal definition: entry/exit as written (the node's own lists add `after`'s timers). */
  config: { entry?: unknown; exit?: unknown };
  history?: 'shallow' | 'deep' | false;
}

interface Transition {
  target?: readonly Node[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
}

export function machineStructure(machine: AnyStateMachine): MachineStructure {
  const root = machine.root as unknown as Node;
  const transitions: MachineTransition[] = [];
  walk(root, (node) => transitions.push(...transitionsOf(node)));
  return { root: stateOf(root), transitions };
}

/** Every state of a structure, the root first, depth first in definition order. */
export function* statesOf(state: MachineState): Generator<MachineState> {
  yield state;
  for (const child of state.children) yield* statesOf(child);
}

function stateOf(node: Node): MachineState {
  const initial = node.initial?.target[0]?.id;
  return {
    id: node.id,
    path: pathOf(node),
    key: node.key,
    type: node.type,
    ...(node.type === 'history' ? { history: node.history === 'deep' ? 'deep' : 'shallow' } : {}),
    ...(initial !== undefined ? { initial } : {}),
    children: Object.values(node.states).map(stateOf),
    notes: notesOf(node),
  };
}

function notesOf(node: Node): string[] {
  const notes: string[] = [];
  if (node.description)
    notes.push(
      ...node.description
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    );
  const entry = listOf(node.config.entry);
  const exit = listOf(node.config.exit);
  if (entry.length > 0) notes.push(`entry / ${entry.map(nameOf).join(', ')}`);
  if (exit.length > 0) notes.push(`exit / ${exit.map(nameOf).join(', ')}`);
  for (const invoke of node.invoke) notes.push(`invoke ${nameOf(invoke.src)}`);
  return notes;
}

function transitionsOf(node: Node): MachineTransition[] {
  const delays = new Map(node.after.map((after) => [after.eventType, after.delay]));
  const invoked = new Map(node.invoke.map((invoke) => [invoke.id, nameOf(invoke.src)]));
  const groups: [string, string, readonly Transition[]][] = [...node.transitions.entries()].map(([eventType, list]) => [eventType, triggerOf(eventType, delays, invoked), list]);
  if (node.always && node.always.length > 0) groups.push(['', 'always', node.always]);
  const found: MachineTransition[] = [];
  for (const [event, trigger, list] of groups) {
    list.forEach((transition, i) => {
      const guarded = transition.guard !== undefined;
      const guard = guarded ? ` [${guardName(transition.guard)}]` : i > 0 && list[i - 1]!.guard !== undefined ? ' [else]' : '';
      const actions = transition.actions.length > 0 ? ` / ${transition.actions.map(nameOf).join(', ')}` : '';
      const targets = transition.target && transition.target.length > 0 ? transition.target : [node];
      for (const target of targets) found.push({ source: node.id, target: target.id, event, label: `${trigger}${guard}${actions}` });
    });
  }
  return found;
}

/** The event a transition waits for, as a reader would name it. */
function triggerOf(eventType: string, delays: Map<string, string | number>, invoked: Map<string, string>): string {
  const delay = delays.get(eventType);
  if (delay !== undefined) return typeof delay === 'number' ? `after ${delay}ms` : `after ${delay}`;
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `done: ${invoked.get(done[1]!) ?? done[1]}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `error: ${invoked.get(error[1]!) ?? error[1]}`;
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType === '*' ? 'any event' : eventType;
}

/** A guard by name: `name`, `{ type }`, an inline function's name, or a helper such as `not(x)`. */
function guardName(guard: unknown): string {
  if (typeof guard === 'function') {
    const inner = (guard as { guards?: unknown[] }).guards;
    if (Array.isArray(inner)) return `${guard.name}(${inner.map(guardName).join(', ')})`;
  }
  return nameOf(guard);
}

function nameOf(thing: unknown): string {
  if (typeof thing === 'string') return thing;
  if (typeof thing === 'function') return thing.name || 'inline';
  if (typeof thing === 'object' && thing !== null && typeof (thing as { type?: unknown }).type === 'string') {
    const { type, params } = thing as { type: string; params?: unknown };
    return type + paramsOf(params);
  }
  return 'inline';
}

/** Literal params, as the machine names them: `persist(claimed, claim)`. Computed ones are not drawn. */
function paramsOf(params: unknown): string {
  if (typeof params !== 'object' || params === null) return '';
  const values = Object.entries(params).map(([name, value]) => (value === true ? name : String(value)));
  return values.length > 0 ? `(${values.join(', ')})` : '';
}

function listOf(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const child of Object.values(node.states)) walk(child, visit);
}

function pathOf(node: Node): string[] {
  const path: string[] = [];
  for (let at: Node | undefined = node; at?.parent; at = at.parent) path.unshift(at.key);
  return path;
}
