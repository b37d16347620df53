import dagre from '@dagrejs/dagre';
import type { AnyStateMachine } from 'xstate';
import { ANY_STATE, machineStructure, type MachineState } from '../inspect/machine-structure.js';
import { ANY_STATE_PATH, type MachineLayout } from './page/diagram-layout.js';

export type { LaidOutState, LaidOutTransition, MachineLayout } from './page/diagram-layout.js';

/**
 * A machine's diagram laid out for the console: every state a box (a compound or parallel state a
 * box around its children), every transition a polyline with its label, in pixels. Laid out here
 * with dagre from the same structure docs/machines.md is drawn from; the page only draws it.
 */
/** Pixels per character of the page's 11px labels, and a state box's height. */
const CHAR_WIDTH = 6.2;
const LINE_HEIGHT = 14;
const STATE_HEIGHT = 34;

export function layOutMachine(machine: AnyStateMachine): MachineLayout {
  const structure = machineStructure(machine);
  const graph = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 40, edgesep: 10, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  const byId = new Map<string, MachineState>();
  const initials = new Set<string>();
  const add = (state: MachineState, parent: MachineState | null): void => {
    byId.set(state.id, state);
    if (state.initial !== undefined) initials.add(state.initial);
    if (state.children.length > 0) graph.setNode(state.id, { width: 0, height: 0 });
    else graph.setNode(state.id, { width: Math.max(90, state.key.length * CHAR_WIDTH * 1.2 + 24), height: STATE_HEIGHT });
    if (parent) graph.setParent(state.id, parent.id);
    for (const child of state.children) add(child, state);
  };
  for (const state of structure.root.children) add(state, null);
  if (structure.root.initial !== undefined) initials.add(structure.root.initial);
  // The machine's own transitions (taken in any state but the final ones) start from a box of their own.
  if (structure.transitions.some((t) => t.source === structure.root.id)) {
    byId.set(structure.root.id, { ...structure.root, key: ANY_STATE, path: [ANY_STATE_PATH], children: [] });
    graph.setNode(structure.root.id, { width: ANY_STATE.length * CHAR_WIDTH * 1.2 + 24, height: STATE_HEIGHT });
  }
  structure.transitions.forEach((transition, i) => {
    // dagre joins edges to leaves only: a transition to or from a compound state is drawn to its first leaf.
    const lines = labelLines(transition.label);
    const width = Math.max(...lines.map((line) => line.length)) * CHAR_WIDTH;
    graph.setEdge(leafOf(transition.source, byId), leafOf(transition.target, byId), { width, height: lines.length * LINE_HEIGHT, labelpos: 'c' }, String(i));
  });
  dagre.layout(graph);
  const size = graph.graph();
  return {
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    states: [...byId.values()].map((state) => {
      const box = graph.node(state.id);
      return {
        path: state.path.join('.'),
        key: state.key,
        type: state.id === structure.root.id ? 'any' : state.type,
        initial: initials.has(state.id),
        notes: state.notes,
        x: round(box.x - box.width / 2),
        y: round(box.y - box.height / 2),
        width: round(box.width),
        height: round(box.height),
      };
    }),
    transitions: structure.transitions.map((transition, i) => {
      const edge = graph.edge({ v: leafOf(transition.source, byId), w: leafOf(transition.target, byId), name: String(i) });
      return {
        source: byId.get(transition.source)!.path.join('.'),
        target: byId.get(transition.target)!.path.join('.'),
        event: transition.event,
        label: transition.label,
        lines: labelLines(transition.label),
        points: edge.points.map((p) => ({ x: round(p.x), y: round(p.y) })),
        // Where dagre put the label (its edge labels are typed loosely).
        labelX: round(Number(edge.x ?? 0)),
        labelY: round(Number(edge.y ?? 0)),
      };
    }),
  };
}

/** `RESULT [resultIsSuccess] / persist(succeeded), retire` → `RESULT`, `[resultIsSuccess]`, `/ persist(succeeded), retire`. */
export function labelLines(label: string): string[] {
  return label.split(/ (?=\[|\/ )/);
}

function leafOf(id: string, byId: Map<string, MachineState>): string {
  let state = byId.get(id)!;
  while (state.children.length > 0) state = byId.get(state.initial ?? state.children[0]!.id)!;
  return state.id;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
