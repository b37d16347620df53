import { api, ApiError, forgetKey, storedKey, storeKey, whenUnauthorized } from './api.js';
import { el, replace } from './dom.js';
import { auditPage } from './pages/audit.js';
import { commandPage, commandsPage, requestPage } from './pages/commands.js';
import { fleetPage } from './pages/fleet.js';
import { jobPage, jobsPage } from './pages/jobs.js';
import { machinesPage } from './pages/machines.js';
import { errorText, type PageContext } from './pages/page.js';
import type { Session } from './types.js';

// The console: a page per hash route (#/fleet, #/commands, #/commands/<id>, #/requests/<id>,
// #/jobs, #/jobs/<id>, #/audit, #/machines), each drawn from the management API with the key the
// operator entered, which the API checks on every call exactly as for any other client.

const app = document.getElementById('app')!;
const NAV = [
  ['fleet', 'Fleet'],
  ['commands', 'Commands'],
  ['jobs', 'Jobs'],
  ['audit', 'Audit'],
  ['machines', 'Machines'],
] as const;

let session: Session | null = null;
const leave: (() => void)[] = [];

function login(problem = ''): void {
  session = null;
  const key = el('input', { type: 'password', id: 'api-key', autocomplete: 'off', placeholder: 'courier_…' });
  const message = el('p', { class: 'error', id: 'login-error' }, problem);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    storeKey(key.value.trim());
    try {
      await start();
    } catch (error) {
      forgetKey();
      message.textContent = error instanceof ApiError && error.status === 401 ? 'This key is not valid (or was revoked).' : errorText(error);
    }
  };
  replace(
    app,
    el(
      'form',
      { id: 'login', class: 'panel', onsubmit: (event) => void submit(event) },
      el('h1', {}, 'courier console'),
      el('p', {}, 'Enter an API key (', el('code', {}, 'courier keys create --role admin|operator|auditor'), '). It is kept in this tab only, until you sign out or close it.'),
      el('label', {}, 'API key', key),
      el('p', {}, el('button', { class: 'action', type: 'submit' }, 'Open the console')),
      message,
    ),
  );
  key.focus();
}

async function start(): Promise<void> {
  session = await api<Session>('/api/v1/console/session');
  route();
}

function route(): void {
  if (!session) return;
  for (const cleanup of leave.splice(0)) cleanup();
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'fleet', ...params] = path.split('/').map(decodeURIComponent);
  const root = el('main');
  const ctx: PageContext = { root, params, session, onLeave: (cleanup) => leave.push(cleanup) };
  replace(
    app,
    el(
      'header',
      {},
      el('span', { class: 'brand' }, 'courier'),
      el('nav', {}, ...NAV.map(([id, label]) => el('a', { href: `#/${id}`, class: id === name || (id === 'commands' && name === 'requests') ? 'current' : '' }, label))),
      el('span', { class: 'who', id: 'who' }, `${session.name} · ${session.role}${session.scope.length ? ` · scope ${session.scope.join(' ')}` : ''} · node ${session.node}`),
      el('button', { id: 'sign-out', onclick: () => signOut() }, 'Sign out'),
    ),
    root,
  );
  const filters = new URLSearchParams(search);
  if (name === 'commands' && params[0]) commandPage(ctx, params[0]);
  else if (name === 'commands') commandsPage(ctx, filters);
  else if (name === 'requests' && params[0]) requestPage(ctx, params[0]);
  else if (name === 'jobs' && params[0]) jobPage(ctx, params[0]);
  else if (name === 'jobs') jobsPage(ctx);
  else if (name === 'audit') auditPage(ctx, filters);
  else if (name === 'machines') machinesPage(ctx);
  else fleetPage(ctx);
}

function signOut(): void {
  for (const cleanup of leave.splice(0)) cleanup();
  forgetKey();
  login();
}

whenUnauthorized(() => {
  // While signing in, the form itself says the key was refused.
  if (!session) return;
  for (const cleanup of leave.splice(0)) cleanup();
  forgetKey();
  login('The key was refused (revoked or expired): enter one again.');
});
window.addEventListener('hashchange', route);
if (storedKey()) start().catch((error: unknown) => login(errorText(error)));
else login();
