import type { AnyStateMachine, ContextFrom, EventFromLogic, SnapshotFrom } from 'xstate';

/** Where a flat machine stands: the state's key, its context, and whether it reached a final state. */
export interface FlatSnapshot<TContext, TValue extends string = string> {
  readonly value: TValue;
  readonly context: TContext;
  readonly status: 'active' | 'done';
}

/** An action the machine names on a transition, for the runtime to run by name. */
export interface NamedAction {
  type: string;
  params: unknown;
}

/** The state keys of a flat machine. */
export type FlatValue<T extends AnyStateMachine> = Extract<SnapshotFrom<T>['value'], string>;
export type FlatSnapshotOf<T extends AnyStateMachine> = FlatSnapshot<ContextFrom<T>, FlatValue<T>>;

export type Step<T extends AnyStateMachine> = (snapshot: FlatSnapshotOf<T>, event: EventFromLogic<T>) => [FlatSnapshotOf<T>, NamedAction[]];

type Context = Record<string, unknown>;
type Args = { context: Context; event: { type: string } };
type Guard = (args: Args, params: unknown) => boolean;
/** An action as the definition lists it: XState's `assign(…)`, a name, or a name with params. */
type ActionDefinition = string | { type: string; params?: unknown } | ((...args: unknown[]) => unknown);
/** XState's `assign(…)`: the assignment it carries, an object of per-key updaters or one function. */
type Assign = { type: 'xstate.assign'; assignment: Record<string, unknown> | ((args: Args, params: unknown) => Context) };

interface Candidate {
  guard: Guard | null;
  /** The state entered, or null for a transition that stays (no exit, no entry). */
  target: string | null;
  actions: ActionDefinition[];
  /**
   * Everything the transition runs, in XState's order, set once every state is compiled: the exit
   * actions of the state left, the transition's own, the entry actions of the state entered.
   */
  sequence: ActionDefinition[];
  /** The state it is in afterwards, and whether that one is final. */
  value: string;
  final: boolean;
}

interface StateTable {
  final: boolean;
  entry: ActionDefinition[];
  exit: ActionDefinition[];
  on: Map<string, Candidate[]>;
}

/**
 * A flat machine's transition function, compiled once from its definition: the same next state,
 * context and named actions as XState's pure `transition(machine, snapshot, event)` (a test
 * compares the two on every path), without building XState's snapshot, its state-node sets and
 * action arrays on every event. At saturation that machinery was a quarter of courier's CPU and
 * seven tenths of everything it allocated (measured, see docs/performance.md).
 *
 * Only what a flat machine uses is supported, and anything else is refused when compiling, so that
 * a machine growing past it fails at start rather than behaving differently: top-level states, each
 * atomic or final; `on` transitions with named guards, targets among its siblings and actions that
 * are `assign(…)` or named (with static params); entry and exit actions. No nesting, parallel or
 * history states, eventless (`always`) or delayed (`after`) transitions, invoked actors, wildcard
 * events or transitions on the root. The decisions stay in the definition: this only reads it.
 */
export function machineStepper<T extends AnyStateMachine>(machine: T): Step<T> {
  const guards = (machine.implementations.guards ?? {}) as Record<string, Guard>;
  const actions = (machine.implementations.actions ?? {}) as Record<string, ActionDefinition>;
  const tables = compile(machine, guards);

  const run = (definitions: ActionDefinition[], context: Context, event: Args['event'], named: NamedAction[]): Context => {
    for (const definition of definitions) {
      const type = typeof definition === 'string' ? definition : (definition as { type: string }).type;
      const params = typeof definition === 'object' ? definition.params : undefined;
      const implementation = typeof definition === 'function' ? definition : actions[type];
      if (isAssign(implementation)) context = assigned(implementation, context, event, params);
      else named.push({ type, params });
    }
    return context;
  };

  return (snapshot, event) => {
    if (snapshot.status !== 'active') return [snapshot, []];
    const state = tables.get(snapshot.value)!;
    const { type } = event as { type: string };
    const candidates = state.on.get(type);
    if (!candidates) return [snapshot, []];
    const args: Args = { context: snapshot.context, event };
    const chosen = candidates.find((c) => c.guard === null || c.guard(args, undefined));
    if (!chosen) return [snapshot, []];
    const named: NamedAction[] = [];
    const context = run(chosen.sequence, snapshot.context, event, named);
    // `value` is a key of the machine's states (compiled from them).
    const next = { value: chosen.value as FlatValue<T>, context: context as ContextFrom<T>, status: chosen.final ? 'done' : 'active' } as const;
    return [next, named];
  };
}

function compile(machine: AnyStateMachine, guards: Record<string, Guard>): Map<string, StateTable> {
  const refuse = (what: string) => {
    throw new Error(`machineStepper: the machine "${machine.id}" uses ${what}, which a flat machine's stepper does not support`);
  };
  const root = machine.root;
  if (root.type !== 'compound') refuse(`a ${root.type} root`);
  if (root.transitions.size > 0) refuse('transitions on its root');
  if (root.entry.length > 0 || root.exit.length > 0) refuse('entry or exit actions on its root');
  const tables = new Map<string, StateTable>();
  for (const [key, node] of Object.entries(root.states)) {
    if (node.type !== 'atomic' && node.type !== 'final') refuse(`a ${node.type} state (${key})`);
    if (node.always !== undefined && node.always.length > 0) refuse(`eventless transitions (${key})`);
    if (node.after.length > 0) refuse(`delayed transitions (${key})`);
    if (node.invoke.length > 0) refuse(`invoked actors (${key})`);
    const on = new Map<string, Candidate[]>();
    for (const [type, transitions] of node.transitions) {
      if (type === '*' || type.includes('.*')) refuse(`wildcard events (${key})`);
      on.set(
        type,
        transitions.map((t) => {
          if (t.target !== undefined && t.target.length > 1) refuse(`several targets (${key}, ${type})`);
          const target = t.target?.[0];
          if (target !== undefined && target.parent !== root) refuse(`a target outside its top level (${key}, ${type})`);
          if (target !== undefined && target === node && t.reenter) refuse(`a re-entering self-transition (${key}, ${type})`);
          let guard: Guard | null = null;
          if (t.guard !== undefined) {
            if (typeof t.guard !== 'string' || typeof guards[t.guard] !== 'function') refuse(`a guard that is not a named function (${key}, ${type})`);
            guard = guards[t.guard as string]!;
          }
          // A transition to its own state without re-entering is one that stays (XState's default).
          const stays = target === undefined || target === node;
          return { guard, target: stays ? null : target.key, actions: checked(t.actions, refuse), sequence: [], value: key, final: false };
        }),
      );
    }
    tables.set(key, { final: node.type === 'final', entry: checked(node.entry, refuse), exit: checked(node.exit, refuse), on });
  }
  // Each transition's whole run and where it ends, now that every state's entry actions are known.
  for (const [key, state] of tables) {
    for (const candidates of state.on.values()) {
      for (const c of candidates) {
        const entered = c.target === null ? null : tables.get(c.target)!;
        c.sequence = entered === null ? c.actions : [...state.exit, ...c.actions, ...entered.entry];
        c.value = c.target ?? key;
        c.final = (entered ?? state).final;
      }
    }
  }
  return tables;
}

/** Actions are assignments or names (with params as data); anything computed is refused. */
function checked(list: readonly unknown[], refuse: (what: string) => never): ActionDefinition[] {
  for (const a of list) {
    if (typeof a === 'string') continue;
    if (typeof a === 'function' && isAssign(a)) continue;
    if (typeof a === 'object' && a !== null && typeof (a as { type?: unknown }).type === 'string' && typeof (a as { params?: unknown }).params !== 'function') continue;
    refuse('an action that is neither assign(…) nor a name with static params');
  }
  return list as ActionDefinition[];
}

function isAssign(action: unknown): action is Assign {
  return typeof action === 'function' && (action as { type?: unknown }).type === 'xstate.assign' && 'assignment' in action;
}

/** The context after an `assign(…)`: XState's semantics (per-key updaters see the context before any of them). */
function assigned(action: Assign, context: Context, event: Args['event'], params: unknown): Context {
  const args: Args = { context, event };
  const { assignment } = action;
  if (typeof assignment === 'function') return { ...context, ...assignment(args, params) };
  const next = { ...context };
  for (const [key, update] of Object.entries(assignment)) next[key] = typeof update === 'function' ? (update as (a: Args, p: unknown) => unknown)(args, params) : update;
  return next;
}
