import { el, replace, time } from '../dom.js';
import { LiveFeed } from '../live-feed.js';
import type { AuditEntry } from '../types.js';
import type { PageContext } from './page.js';

/** Most entries kept on the page; older ones drop off the bottom. */
const KEPT = 500;

/** The audit trail as it is written (the live feed), newest first, with the feed's filters. */
export function auditPage(ctx: PageContext, filters: URLSearchParams): void {
  const kind = el('select', { 'aria-label': 'kind' }, ...['', 'transition', 'job', 'membership', 'key', 'refusal'].map((k) => el('option', { value: k }, k || 'every kind')));
  kind.value = filters.get('kind') ?? '';
  const agent = el('input', { type: 'search', value: filters.get('agent') ?? '', 'aria-label': 'agent' });
  const request = el('input', { type: 'search', value: filters.get('request_id') ?? '', 'aria-label': 'request' });
  const state = el('span', { class: 'muted' }, 'connecting…');
  const rows = el('tbody', { id: 'audit-rows' });
  const apply = (): void => {
    const params = new URLSearchParams();
    if (kind.value) params.set('kind', kind.value);
    if (agent.value.trim()) params.set('agent', agent.value.trim());
    if (request.value.trim()) params.set('request_id', request.value.trim());
    location.hash = `#/audit${params.size ? `?${params}` : ''}`;
  };
  kind.addEventListener('change', apply);
  agent.addEventListener('change', apply);
  request.addEventListener('change', apply);
  const add = (entry: AuditEntry): void => {
    const subject = entry.kind === 'job' ? `job ${entry.job_id ?? ''}` : entry.kind === 'key' ? `key ${entry.key_id ?? ''}` : (entry.document_id ?? '—');
    const link = entry.kind === 'job' ? `#/jobs/${encodeURIComponent(entry.job_id ?? '')}` : entry.document_id ? `#/commands/${encodeURIComponent(entry.document_id)}` : null;
    const change =
      entry.kind === 'refusal'
        ? (entry.detail ?? entry.cause)
        : entry.kind === 'membership'
          ? `agent ${entry.agent_id ?? ''}: [${(entry.previous_groups ?? []).join(', ')}] → [${(entry.groups ?? []).join(', ')}] (${entry.cause})`
          : entry.kind === 'key'
            ? `${entry.cause}: ${entry.detail ?? ''}`
            : `${entry.from ?? '∅'} → ${entry.to ?? ''} (${entry.cause})`;
    rows.prepend(
      el(
        'tr',
        { 'data-kind': entry.kind },
        el('td', {}, time(entry.at)),
        el('td', {}, entry.kind),
        el('td', { class: 'mono' }, link ? el('a', { href: link }, subject) : subject),
        el('td', {}, change),
        el('td', {}, entry.actor),
        el('td', {}, entry.node),
      ),
    );
    while (rows.childElementCount > KEPT) rows.lastElementChild!.remove();
  };
  replace(
    ctx.root,
    el('h1', {}, 'Audit ', state),
    el('div', { class: 'filters' }, el('label', {}, 'kind', kind), el('label', {}, 'agent', agent), el('label', {}, 'request', request)),
    el('p', { class: 'muted' }, 'Live: entries appear as they are written (from the moment this page opened).'),
    el('table', {}, el('thead', {}, el('tr', {}, ...['at', 'kind', 'subject', 'change', 'by', 'node'].map((h) => el('th', {}, h)))), rows),
  );
  const feed = new LiveFeed({ kind: kind.value || undefined, agent: agent.value.trim() || undefined, request_id: request.value.trim() || undefined }, add, () => {
    state.textContent = '· live';
  });
  ctx.onLeave(() => feed.close());
}
