import { api } from '../api.js';
import { Diagram, loadMachines } from '../diagram.js';
import { batched, el, replace, table, time } from '../dom.js';
import { LiveFeed } from '../live-feed.js';
import type { AuditEntry, LiveStates } from '../types.js';
import { allows, errorText, type PageContext } from './page.js';

/** Most recent events listed. */
const RECENT = 40;

/**
 * Every machine of the runtime drawn from its definition, with the states this node's live actors
 * are in marked (and counted), and the latest transitions of commands and jobs as they happen:
 * the offline counterpart of the Stately inspector.
 */
export function machinesPage(ctx: PageContext): void {
  const recent = el('tbody', { id: 'recent-events' });
  const note = el('p', { class: 'muted' });
  const sections = el('div');
  replace(
    ctx.root,
    el('h1', {}, 'Machines'),
    note,
    el('h2', {}, 'Recent events'),
    el('div', { class: 'events' }, el('table', {}, el('thead', {}, el('tr', {}, ...['at', 'machine', 'actor', 'event'].map((h) => el('th', {}, h)))), recent)),
    sections,
  );
  const diagrams = new Map<string, { diagram: Diagram; actors: HTMLElement }>();
  const fleetWide = ctx.session.scope.length === 0;
  note.textContent = fleetWide
    ? 'Marked states hold live actors of this node (a number: how many); the lists name the first of them. Refreshed every 2 s and on each event.'
    : 'This key has a scope: the live actors of the whole node are not shown to it, only the machines.';

  const refresh = async (): Promise<void> => {
    if (!fleetWide) return;
    try {
      const live = await api<{ machines: Record<string, LiveStates>; at: string }>('/api/v1/console/live');
      for (const [id, { diagram, actors }] of diagrams) {
        const states = live.machines[id] ?? { counts: {}, actors: [] };
        diagram.show(states.counts);
        const total = Object.values(states.actors).length;
        replace(
          actors,
          total === 0
            ? el('p', { class: 'muted' }, 'No live actor of this machine here now.')
            : table(
                ['actor', 'state'],
                states.actors.map((a) => [el('span', { class: 'mono' }, a.id), a.states.join(', ')]),
              ),
        );
      }
    } catch (error) {
      note.textContent = errorText(error);
    }
  };

  // A burst of events is one read of the live states.
  const soon = batched(() => void refresh(), 500);

  const load = async (): Promise<void> => {
    for (const m of await loadMachines()) {
      const diagram = new Diagram(m);
      const actors = el('div', { class: 'live-actors' });
      diagrams.set(m.id, { diagram, actors });
      sections.appendChild(
        el('section', { 'data-machine': m.id }, el('h2', {}, `${m.title} — `, el('code', {}, m.id), ' ', el('span', { class: 'muted' }, m.file)), diagram.element, actors),
      );
    }
    await refresh();
  };
  void load().catch((error: unknown) => (note.textContent = errorText(error)));
  const timer = setInterval(() => void refresh(), 2000);
  ctx.onLeave(() => clearInterval(timer));
  if (allows(ctx.session, 'audit:read')) {
    const feed = new LiveFeed({}, (entry: AuditEntry) => {
      // Refusals, changes of an agent's groups and keys made or revoked are no machine's events.
      if (entry.kind === 'refusal' || entry.kind === 'membership' || entry.kind === 'key') return;
      const machine = entry.kind === 'job' ? 'job' : 'command';
      recent.prepend(
        el(
          'tr',
          {},
          el('td', {}, time(entry.at)),
          el('td', {}, machine),
          el('td', { class: 'mono' }, entry.job_id ?? entry.document_id ?? '—'),
          el('td', {}, `${entry.from ?? '∅'} → ${entry.to ?? ''} (${entry.cause})`),
        ),
      );
      while (recent.childElementCount > RECENT) recent.lastElementChild!.remove();
      soon();
    });
    ctx.onLeave(() => feed.close());
  }
}
