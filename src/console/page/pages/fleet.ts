import { all, api } from '../api.js';
import { badge, el, replace, table, time } from '../dom.js';
import type { Agent, Command } from '../types.js';
import { allows, errorText, type PageContext } from './page.js';

/** Actions an operator sends from the console; any other name may be typed. */
const ACTIONS = ['restart', 'fetch-config', 'set-group', 'update', 'request-status'];

/** The fleet: every agent the key may see, how it is connected and when it was last seen; a command to one of them. */
export function fleetPage(ctx: PageContext): void {
  const text = el('input', { type: 'search', placeholder: 'id or name', 'aria-label': 'filter by id or name' });
  const group = el('select', { 'aria-label': 'group' }, el('option', { value: '' }, 'any group'));
  const state = el(
    'select',
    { 'aria-label': 'connection' },
    el('option', { value: '' }, 'any connection'),
    el('option', { value: 'connected' }, 'connected'),
    el('option', { value: 'offline' }, 'offline'),
  );
  const list = el('div', { id: 'fleet' }, el('p', { class: 'muted' }, 'Loading…'));
  const sendPanel = el('div');
  let agents: Agent[] = [];

  const draw = (): void => {
    const needle = text.value.trim().toLowerCase();
    const shown = agents.filter(
      (a) =>
        (!needle || a.id.toLowerCase().includes(needle) || (a.name ?? '').toLowerCase().includes(needle)) &&
        (!group.value || a.groups.includes(group.value)) &&
        (!state.value || (state.value === 'offline' ? a.connection === 'offline' : a.connection !== 'offline')),
    );
    const canSend = allows(ctx.session, 'commands:send');
    replace(
      list,
      el('p', { class: 'muted' }, `${shown.length} of ${agents.length} agents`),
      table(
        ['agent', 'name', 'groups', 'connection', 'node', 'last seen', ''],
        shown.map((a) => [
          el('a', { href: `#/commands?agent=${encodeURIComponent(a.id)}`, class: 'mono' }, a.id),
          a.name ?? '—',
          a.groups.join(', ') || '—',
          badge(a.connection),
          a.node ?? '—',
          time(a.last_seen),
          canSend ? el('button', { class: 'action secondary', 'data-send': a.id, onclick: () => openSend(a) }, 'Send command…') : '',
        ]),
        'No agents (or none in this key’s scope).',
      ),
    );
  };

  const openSend = (agent: Agent): void => {
    const action = el('input', { list: 'actions', value: 'restart', 'aria-label': 'action' });
    const args = el('textarea', { rows: 3, cols: 40, 'aria-label': 'arguments' });
    args.value = '{}';
    const timeout = el('input', { type: 'number', min: 1, value: 300, 'aria-label': 'timeout' });
    const problem = el('p', { class: 'error' });
    const send = async (): Promise<void> => {
      problem.textContent = '';
      let parsed: unknown;
      try {
        parsed = JSON.parse(args.value || '{}');
      } catch {
        problem.textContent = 'The arguments must be a JSON object.';
        return;
      }
      try {
        const created = await api<{ commands: Command[] }>('/api/v1/commands', {
          method: 'POST',
          body: { commands: [{ source: 'console', target: { type: 'agent', id: agent.id }, action: { name: action.value.trim(), args: parsed }, timeout: Number(timeout.value) }] },
        });
        location.hash = `#/commands/${encodeURIComponent(created.commands[0]!.document_id)}`;
      } catch (error) {
        problem.textContent = errorText(error);
      }
    };
    replace(
      sendPanel,
      el(
        'div',
        { class: 'panel', id: 'send-panel' },
        el('h2', {}, `Send a command to ${agent.id}`),
        el('datalist', { id: 'actions' }, ...ACTIONS.map((name) => el('option', { value: name }))),
        el(
          'div',
          { class: 'filters' },
          el('label', {}, 'action', action),
          el('label', {}, 'arguments (JSON)', args),
          el('label', {}, 'delivery timeout (s)', timeout),
          el('button', { class: 'action', id: 'send', onclick: () => void send() }, 'Send'),
          el('button', { class: 'action secondary', onclick: () => sendPanel.replaceChildren() }, 'Close'),
        ),
        problem,
      ),
    );
  };

  const load = async (): Promise<void> => {
    try {
      agents = await all<Agent>('/api/v1/agents');
      const groups = [...new Set(agents.flatMap((a) => a.groups))].sort();
      const chosen = group.value;
      replace(group, el('option', { value: '' }, 'any group'), ...groups.map((g) => el('option', { value: g }, g)));
      group.value = chosen;
      draw();
    } catch (error) {
      replace(list, el('p', { class: 'error' }, errorText(error)));
    }
  };

  for (const input of [text, group, state]) input.addEventListener('input', draw);
  replace(
    ctx.root,
    el('h1', {}, 'Fleet'),
    el('div', { class: 'filters' }, el('label', {}, 'search', text), el('label', {}, 'group', group), el('label', {}, 'connection', state)),
    sendPanel,
    list,
  );
  void load();
  // Connections come and go: read them again every 5 s while the page is open.
  const timer = setInterval(() => void load(), 5000);
  ctx.onLeave(() => clearInterval(timer));
}
