import { api } from './api.js';
import { ANY_STATE_PATH } from './diagram-layout.js';
import { el, svg } from './dom.js';
import type { Machine } from './types.js';

let machines: Promise<Machine[]> | null = null;

/** The runtime's machines with their diagrams laid out (read once per page load). */
export function loadMachines(): Promise<Machine[]> {
  machines ??= api<{ machines: Machine[] }>('/api/v1/console/machines').then((body) => body.machines);
  return machines;
}

export async function machine(id: string): Promise<Machine> {
  const found = (await loadMachines()).find((m) => m.id === id);
  if (!found) throw new Error(`no machine ${id}`);
  return found;
}

/** The events a state takes, read from the machine's transitions (`PAUSE`, `CANCEL`, …): its own, and the machine's unless it is final. */
export function eventsTaken(m: Machine, state: string): Set<string> {
  const final = m.layout.states.find((s) => s.path === state)?.type === 'final';
  return new Set(m.layout.transitions.filter((t) => t.source === state || (t.source === ANY_STATE_PATH && !final)).map((t) => t.event));
}

/** A machine's diagram; `show` marks the states live actors stand in, with how many when more than one. */
export class Diagram {
  readonly element: HTMLElement;
  private readonly boxes = new Map<string, { group: SVGElement; count: SVGElement }>();

  constructor(m: Machine) {
    const { width, height, states, transitions } = m.layout;
    const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${m.id} machine` });
    root.appendChild(
      svg(
        'defs',
        {},
        svg(
          'marker',
          { id: `arrow-${m.id}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
          svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9aa3b5' }),
        ),
      ),
    );
    // Compound states first, so that their children and the edges are drawn over them.
    const ordered = [...states].sort((a, b) => a.path.split('.').length - b.path.split('.').length);
    for (const state of ordered) {
      const compound = state.type === 'compound' || state.type === 'parallel';
      const any = state.type === 'any';
      const count = svg('text', { x: state.x + state.width - 6, y: state.y + 12, 'text-anchor': 'end', class: 'count' });
      const group = svg(
        'g',
        { class: `state ${compound ? 'compound' : ''} ${any ? 'any' : ''} ${state.type === 'final' ? 'final' : ''}`, 'data-state': state.path },
        svg('rect', { x: state.x, y: state.y, width: state.width, height: state.height, rx: 8 }),
        svg(
          'text',
          { x: state.x + (compound ? 8 : state.width / 2), y: state.y + (compound ? 14 : state.height / 2 + 4), 'text-anchor': compound ? 'start' : 'middle' },
          state.key,
        ),
        count,
        svg('title', {}, [state.path, ...state.notes].join('\n')),
      );
      root.appendChild(group);
      this.boxes.set(state.path, { group, count });
      if (state.initial) root.appendChild(svg('circle', { cx: state.x - 8, cy: state.y + 8, r: 4, class: 'initial' }));
    }
    for (const t of transitions) {
      if (t.points.length === 0) continue;
      const d = t.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ');
      const label = svg('text', { x: t.labelX, y: t.labelY - ((t.lines.length - 1) * 14) / 2 + 4, 'text-anchor': 'middle' });
      t.lines.forEach((line, i) => label.appendChild(svg('tspan', { x: t.labelX, dy: i === 0 ? 0 : 14 }, line)));
      root.appendChild(svg('g', { class: 'edge' }, svg('path', { d, 'marker-end': `url(#arrow-${m.id})` }), label));
    }
    this.element = el('div', { class: 'diagram', 'data-machine': m.id });
    this.element.appendChild(root);
  }

  /** Marks these states (by path; a count above 1 is written in the box); every other state is cleared. */
  show(counts: Record<string, number>): void {
    for (const [path, { group, count }] of this.boxes) {
      // A live actor in `active.poll.tailing` is in `active` and `active.poll` too.
      const n = Object.entries(counts).reduce((sum, [live, c]) => (live === path || live.startsWith(`${path}.`) ? sum + c : sum), 0);
      group.classList.toggle('live', n > 0);
      count.textContent = n > 1 ? String(n) : '';
    }
  }
}
