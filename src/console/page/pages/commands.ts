import { api, query } from '../api.js';
import { Diagram, eventsTaken, machine } from '../diagram.js';
import { badge, batched, el, replace, table, time } from '../dom.js';
import { LiveFeed } from '../live-feed.js';
import type { Command, HistoryEvent, RequestSummary } from '../types.js';
import { allows, errorText, type PageContext } from './page.js';

const STATUSES = ['pending', 'sent', 'delivered', 'success', 'failure', 'timed_out', 'cancelled'];

/** The newest commands (filters: agent, status, request, action), following the live feed. */
export function commandsPage(ctx: PageContext, filters: URLSearchParams): void {
  const agent = el('input', { type: 'search', value: filters.get('agent') ?? '', 'aria-label': 'agent' });
  const status = el('select', { 'aria-label': 'status' }, el('option', { value: '' }, 'any status'), ...STATUSES.map((s) => el('option', { value: s }, s)));
  status.value = filters.get('status') ?? '';
  const request = el('input', { type: 'search', value: filters.get('request_id') ?? '', 'aria-label': 'request' });
  const action = el('input', { type: 'search', value: filters.get('action') ?? '', 'aria-label': 'action' });
  const list = el('div', { id: 'commands' }, el('p', { class: 'muted' }, 'Loading…'));
  const current = () => ({
    agent: agent.value.trim() || undefined,
    status: status.value || undefined,
    request_id: request.value.trim() || undefined,
    action: action.value.trim() || undefined,
  });

  const load = async (): Promise<void> => {
    try {
      const page = await api<{ items: Command[] }>(`/api/v1/commands${query({ ...current(), limit: '100' })}`);
      replace(
        list,
        table(
          ['command', 'created', 'agent / target', 'action', 'request', 'status'],
          page.items.map((c) => [
            el('a', { href: `#/commands/${encodeURIComponent(c.document_id)}`, class: 'mono' }, c.document_id),
            time(c['@timestamp']),
            `${c.target.type}:${c.target.id}`,
            c.action.name,
            el('a', { href: `#/requests/${encodeURIComponent(c.request_id)}`, class: 'mono' }, c.request_id),
            badge(c.status),
          ]),
          'No commands match.',
        ),
      );
    } catch (error) {
      replace(list, el('p', { class: 'error' }, errorText(error)));
    }
  };
  // Many transitions arrive together: one read for all of them.
  const soon = batched(() => void load(), 300);
  const apply = (): void => {
    location.hash = `#/commands${query(current())}`;
  };
  for (const input of [agent, request, action]) input.addEventListener('change', apply);
  status.addEventListener('change', apply);
  replace(
    ctx.root,
    el('h1', {}, 'Commands'),
    el('div', { class: 'filters' }, el('label', {}, 'agent', agent), el('label', {}, 'status', status), el('label', {}, 'request', request), el('label', {}, 'action', action)),
    list,
  );
  if (allows(ctx.session, 'audit:read')) {
    const feed = new LiveFeed({ kind: 'transition', agent: current().agent, request_id: current().request_id }, soon, () => void load());
    ctx.onLeave(() => feed.close());
  } else void load();
}

/** One command: where it stands, drawn on its machine, and its history, moving as it moves. */
export function commandPage(ctx: PageContext, documentId: string): void {
  const head = el('div', { class: 'panel' }, el('p', { class: 'muted' }, 'Loading…'));
  const diagramBox = el('div');
  const history = el('div', { id: 'history' });
  replace(ctx.root, el('h1', {}, 'Command ', el('span', { class: 'mono' }, documentId)), head, el('h2', {}, 'Its machine'), diagramBox, el('h2', {}, 'History'), history);
  let diagram: Diagram | null = null;

  const load = async (): Promise<void> => {
    try {
      const [command, trail, m] = await Promise.all([
        api<Command>(`/api/v1/commands/${encodeURIComponent(documentId)}`),
        api<{ events: HistoryEvent[] }>(`/api/v1/commands/${encodeURIComponent(documentId)}/history`),
        machine('command'),
      ]);
      if (!diagram) {
        diagram = new Diagram(m);
        diagramBox.replaceChildren(diagram.element);
      }
      diagram.show({ [command.status]: 1 });
      const canCancel = allows(ctx.session, 'commands:cancel') && eventsTaken(m, command.status).has('CANCEL');
      replace(
        head,
        el('p', {}, 'Status ', el('span', { id: 'command-status', class: `badge ${command.status}` }, command.status)),
        table(
          ['target', 'action', 'arguments', 'request', 'created', 'deliver by', 'result'],
          [
            [
              `${command.target.type}:${command.target.id}`,
              command.action.name,
              el('span', { class: 'mono' }, JSON.stringify(command.action.args)),
              el('a', { href: `#/requests/${encodeURIComponent(command.request_id)}`, class: 'mono' }, command.request_id),
              time(command['@timestamp']),
              time(command.delivery_timestamp),
              command.result ? `${command.result.code}: ${command.result.message}` : '—',
            ],
          ],
        ),
        canCancel ? el('p', {}, el('button', { class: 'action secondary', id: 'cancel', onclick: () => void cancel() }, 'Cancel this command')) : '',
      );
      replace(
        history,
        table(
          ['at', 'from', 'to', 'cause', 'by', 'node'],
          trail.events.map((e) => [time(e.at), e.from ? badge(e.from) : '—', badge(e.to), e.cause, e.actor, e.node]),
        ),
      );
    } catch (error) {
      replace(head, el('p', { class: 'error' }, errorText(error)));
    }
  };
  const cancel = async (): Promise<void> => {
    try {
      await api(`/api/v1/commands/${encodeURIComponent(documentId)}/cancel`, { method: 'POST' });
    } catch (error) {
      head.appendChild(el('p', { class: 'error' }, errorText(error)));
    }
    await load();
  };

  if (allows(ctx.session, 'audit:read')) {
    // Read once the feed has started, so that no transition falls between the read and the feed.
    void api<Command>(`/api/v1/commands/${encodeURIComponent(documentId)}`)
      .then((command) => {
        const feed = new LiveFeed(
          { kind: 'transition', request_id: command.request_id },
          (entry) => entry.document_id === documentId && void load(),
          () => void load(),
        );
        ctx.onLeave(() => feed.close());
      })
      .catch((error: unknown) => replace(head, el('p', { class: 'error' }, errorText(error))));
  } else {
    void load();
    const timer = setInterval(() => void load(), 2000);
    ctx.onLeave(() => clearInterval(timer));
  }
}

/** One fan-out: its counts per status and the commands not (yet) successful. */
export function requestPage(ctx: PageContext, requestId: string): void {
  const body = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  replace(ctx.root, el('h1', {}, 'Request ', el('span', { class: 'mono' }, requestId)), body);
  const load = async (): Promise<void> => {
    try {
      const summary = await api<RequestSummary>(`/api/v1/requests/${encodeURIComponent(requestId)}`);
      replace(
        body,
        el(
          'div',
          { class: 'panel' },
          el('p', {}, `${summary.total} commands`),
          el('div', { class: 'counts', id: 'request-counts' }, ...Object.entries(summary.counts).map(([status, n]) => el('span', { class: `badge ${status}` }, `${status} ${n}`))),
        ),
        el('h2', {}, 'Not (yet) successful'),
        table(
          ['command', 'agent', 'status', 'result'],
          summary.not_succeeded.items.map((c) => [
            el('a', { href: `#/commands/${encodeURIComponent(c.document_id)}`, class: 'mono' }, c.document_id),
            c.agent_id ?? '—',
            badge(c.status),
            c.result ? `${c.result.code}: ${c.result.message}` : '—',
          ]),
          'Every command of this request succeeded.',
        ),
        el('p', {}, el('a', { href: `#/commands?request_id=${encodeURIComponent(requestId)}` }, 'All its commands')),
      );
    } catch (error) {
      replace(body, el('p', { class: 'error' }, errorText(error)));
    }
  };
  if (allows(ctx.session, 'audit:read')) {
    const feed = new LiveFeed(
      { kind: 'transition', request_id: requestId },
      () => void load(),
      () => void load(),
    );
    ctx.onLeave(() => feed.close());
  } else void load();
}
