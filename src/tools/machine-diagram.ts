import type { AnyStateMachine } from 'xstate';
import { ANY_STATE, machineStructure, statesOf, type MachineState } from '../inspect/machine-structure.js';

/**
 * Renders one XState machine as a Mermaid `stateDiagram-v2` from its structure (see
 * machine-structure.ts): states (nested and parallel ones too), initial and final states, every
 * transition with its label, and each state's notes. The output follows the definition's own
 * order, so it changes only when the machine does.
 */

const KEYWORDS = new Set(['state', 'note', 'end', 'as', 'direction', 'class', 'classdef', 'style', 'click', 'left', 'right', 'of', 'scale']);

export function machineDiagram(machine: AnyStateMachine): string {
  const structure = machineStructure(machine);
  const ids = new Ids();
  const byId = new Map([...statesOf(structure.root)].map((state) => [state.id, state]));
  const lines = ['stateDiagram-v2'];
  block(structure.root, ids, byId, lines, '  ');
  // The machine's own transitions (taken in any state) start from a box of their own.
  if (structure.transitions.some((t) => t.source === structure.root.id)) lines.push(`  state "${ANY_STATE}" as ${ids.of(structure.root)}`);
  lines.push(...structure.transitions.map((t) => `  ${ids.of(byId.get(t.source)!)} --> ${ids.of(byId.get(t.target)!)} : ${text(t.label)}`));
  return lines.join('\n');
}

/** Declares the children of `parent` (recursively), its initial arrow, final arrows and notes. */
function block(parent: MachineState, ids: Ids, byId: Map<string, MachineState>, lines: string[], indent: string): void {
  const children = parent.children;
  if (parent.type === 'parallel') {
    children.forEach((region, i) => {
      if (i > 0) lines.push(`${indent}--`);
      declare(region, ids, byId, lines, indent);
    });
    return;
  }
  if (parent.initial !== undefined) lines.push(`${indent}[*] --> ${ids.of(byId.get(parent.initial)!)}`);
  for (const child of children) declare(child, ids, byId, lines, indent);
  for (const child of children) if (child.type === 'final') lines.push(`${indent}${ids.of(child)} --> [*]`);
}

function declare(state: MachineState, ids: Ids, byId: Map<string, MachineState>, lines: string[], indent: string): void {
  const id = ids.of(state);
  const label = state.type === 'history' ? `${state.key} (${state.history} history)` : state.key;
  if (id !== label) lines.push(`${indent}state "${label.replaceAll('"', "'")}" as ${id}`);
  else if (state.children.length === 0) lines.push(`${indent}${id}`);
  if (state.children.length > 0) {
    lines.push(`${indent}state ${id} {`);
    block(state, ids, byId, lines, `${indent}  `);
    lines.push(`${indent}}`);
  }
  // A multi-line note runs to the line `end note`; nothing else in it is syntax.
  const note = state.notes.map((line) => (line.toLowerCase().includes('end note') ? line.replace(/end note/gi, 'end-note') : line));
  if (note.length > 0) lines.push(`${indent}note right of ${id}`, ...note.map((line) => `${indent}  ${line}`), `${indent}end note`);
}

/** In a transition label Mermaid reads `;` as the end of the statement and `#` as the start of an entity. */
function text(value: string): string {
  return value.replaceAll(';', ',').replaceAll('#', '№').replaceAll('\n', ' ');
}

/** Mermaid ids: a top-level state keeps its key when it can; nested ones are named by their path. */
class Ids {
  private readonly byState = new Map<string, string>();
  private readonly used = new Set<string>();

  of(state: MachineState): string {
    const known = this.byState.get(state.id);
    if (known) return known;
    if (state.path.length === 0) return this.claim(state.id, 'any_state');
    let id = state.path.map((key) => key.replace(/[^A-Za-z0-9_]/g, '_')).join('__');
    if (!/^[A-Za-z]/.test(id) || KEYWORDS.has(id.toLowerCase())) id = `s_${id}`;
    return this.claim(state.id, id);
  }

  private claim(stateId: string, wanted: string): string {
    let id = wanted;
    for (let n = 2; this.used.has(id); n++) id = `${wanted}_${n}`;
    this.used.add(id);
    this.byState.set(stateId, id);
    return id;
  }
}
