import type { AnyStateMachine } from 'xstate';

/**
 * Renders one XState machine as a Mermaid `stateDiagram-v2`, from its definition alone:
 * states (nested and parallel ones too), initial and final states, every transition with its
 * guard and actions (`RESULT [resultIsSuccess] / recordResult`; the unguarded fallback after a
 * guarded one is `[else]`), `after` delays, `always`, invoked actors' done/error, and each
 * state's description, entry/exit actions and invocations as a note. The output follows the
 * definition's own order, so it changes only when the machine does.
 */

/** The parts of XState's `StateNode` read here (its public, documented shape). */
interface Node {
  key: string;
  id: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
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

const KEYWORDS = new Set(['state', 'note', 'end', 'as', 'direction', 'class', 'classdef', 'style', 'click', 'left', 'right', 'of', 'scale']);

export function machineDiagram(machine: AnyStateMachine): string {
  const root = machine.root as unknown as Node;
  const ids = new Ids();
  const lines = ['stateDiagram-v2'];
  block(root, ids, lines, '  ');
  const edges: string[] = [];
  walk(root, (node) => {
    if (node !== root) edges.push(...transitions(node, ids));
  });
  lines.push(...edges.map((edge) => `  ${edge}`));
  return lines.join('\n');
}

/** Declares the children of `parent` (recursively), its initial arrow, final arrows and notes. */
function block(parent: Node, ids: Ids, lines: string[], indent: string): void {
  const children = Object.values(parent.states);
  if (parent.type === 'parallel') {
    children.forEach((region, i) => {
      if (i > 0) lines.push(`${indent}--`);
      declare(region, ids, lines, indent);
    });
    return;
  }
  const initial = parent.initial?.target[0];
  if (initial) lines.push(`${indent}[*] --> ${ids.of(initial)}`);
  for (const child of children) declare(child, ids, lines, indent);
  for (const child of children) if (child.type === 'final') lines.push(`${indent}${ids.of(child)} --> [*]`);
}

function declare(node: Node, ids: Ids, lines: string[], indent: string): void {
  const id = ids.of(node);
  const label = node.type === 'history' ? `${node.key} (${node.history === 'deep' ? 'deep' : 'shallow'} history)` : node.key;
  if (id !== label) lines.push(`${indent}state "${label.replaceAll('"', "'")}" as ${id}`);
  else if (Object.keys(node.states).length === 0) lines.push(`${indent}${id}`);
  if (Object.keys(node.states).length > 0) {
    lines.push(`${indent}state ${id} {`);
    block(node, ids, lines, `${indent}  `);
    lines.push(`${indent}}`);
  }
  const note = noteOf(node);
  if (note.length > 0) lines.push(`${indent}note right of ${id}`, ...note.map((line) => `${indent}  ${line}`), `${indent}end note`);
}

function noteOf(node: Node): string[] {
  const note: string[] = [];
  if (node.description)
    note.push(
      ...node.description
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    );
  const entry = listOf(node.config.entry);
  const exit = listOf(node.config.exit);
  if (entry.length > 0) note.push(`entry / ${entry.map(nameOf).join(', ')}`);
  if (exit.length > 0) note.push(`exit / ${exit.map(nameOf).join(', ')}`);
  for (const invoke of node.invoke) note.push(`invoke ${nameOf(invoke.src)}`);
  // A multi-line note runs to the line `end note`; nothing else in it is syntax.
  return note.map((line) => (line.toLowerCase().includes('end note') ? line.replace(/end note/gi, 'end-note') : line));
}

function transitions(node: Node, ids: Ids): string[] {
  const delays = new Map(node.after.map((after) => [after.eventType, after.delay]));
  const invoked = new Map(node.invoke.map((invoke) => [invoke.id, nameOf(invoke.src)]));
  const groups: [string, readonly Transition[]][] = [...node.transitions.entries()].map(([eventType, list]) => [triggerOf(eventType, delays, invoked), list]);
  if (node.always && node.always.length > 0) groups.push(['always', node.always]);
  const edges: string[] = [];
  for (const [trigger, list] of groups) {
    list.forEach((transition, i) => {
      const guarded = transition.guard !== undefined;
      const guard = guarded ? ` [${guardName(transition.guard)}]` : i > 0 && list[i - 1]!.guard !== undefined ? ' [else]' : '';
      const actions = transition.actions.length > 0 ? ` / ${transition.actions.map(nameOf).join(', ')}` : '';
      // A transition without a target stays in the state (drawn as a self-loop).
      const targets = transition.target && transition.target.length > 0 ? transition.target : [node];
      for (const target of targets) edges.push(`${ids.of(node)} --> ${ids.of(target)} : ${text(`${trigger}${guard}${actions}`)}`);
    });
  }
  return edges;
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

/** In a transition label Mermaid reads `;` as the end of the statement and `#` as the start of an entity. */
function text(value: string): string {
  return value.replaceAll(';', ',').replaceAll('#', '№').replaceAll('\n', ' ');
}

function listOf(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const child of Object.values(node.states)) walk(child, visit);
}

/** Mermaid ids: a top-level state keeps its key when it can; nested ones are named by their path. */
class Ids {
  private readonly byNode = new Map<string, string>();
  private readonly used = new Set<string>();

  of(node: Node): string {
    const known = this.byNode.get(node.id);
    if (known) return known;
    const path = pathOf(node);
    let id = path.map((key) => key.replace(/[^A-Za-z0-9_]/g, '_')).join('__');
    if (!/^[A-Za-z]/.test(id) || KEYWORDS.has(id.toLowerCase())) id = `s_${id}`;
    const base = id;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    this.byNode.set(node.id, id);
    return id;
  }
}

function pathOf(node: Node): string[] {
  const path: string[] = [];
  for (let at: Node | undefined = node; at?.parent; at = at.parent) path.unshift(at.key);
  return path;
}
