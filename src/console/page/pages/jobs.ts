import { all, api } from '../api.js';
import { Diagram, eventsTaken, machine } from '../diagram.js';
import { badge, el, replace, table, time } from '../dom.js';
import type { Job, JobSummary } from '../types.js';
import { allows, errorText, type PageContext } from './page.js';

/** The bar's colours per command status. */
const COLOURS: Record<string, string> = {
  success: '#1a7f37',
  failure: '#c62828',
  timed_out: '#e57373',
  cancelled: '#9aa3b5',
  delivered: '#f2b01e',
  sent: '#f7d27a',
  pending: '#fbe7b0',
};

/** Each operator control, the event it is to the job's machine, and the permission it needs. */
const CONTROLS = [
  { name: 'pause', event: 'PAUSE', permission: 'commands:send' },
  { name: 'resume', event: 'RESUME', permission: 'commands:send' },
  { name: 'approve', event: 'APPROVE', permission: 'commands:send' },
  { name: 'cancel', event: 'CANCEL', permission: 'commands:cancel' },
];

/** One status's share of a step's bar. Set through the DOM: the page's CSP refuses inline style attributes. */
function segment(status: string, colour: string, share: number): HTMLElement {
  const span = el('span', { title: status });
  span.style.width = `${share * 100}%`;
  span.style.background = colour;
  return span;
}

export function jobsPage(ctx: PageContext): void {
  const list = el('div', { id: 'jobs' }, el('p', { class: 'muted' }, 'Loading…'));
  replace(ctx.root, el('h1', {}, 'Jobs'), list);
  const load = async (): Promise<void> => {
    try {
      const jobs = await all<JobSummary>('/api/v1/jobs', 'jobs', 1000);
      replace(
        list,
        table(
          ['job', 'name', 'status', 'targets', 'created', 'by'],
          jobs.map((j) => [
            el('a', { href: `#/jobs/${encodeURIComponent(j.job_id)}`, class: 'mono' }, j.job_id),
            j.name,
            badge(j.status),
            j.targets,
            time(j.created_at),
            j.created_by,
          ]),
          'No jobs yet (`courier jobs create`, or POST /api/v1/jobs).',
        ),
      );
    } catch (error) {
      replace(list, el('p', { class: 'error' }, errorText(error)));
    }
  };
  void load();
  const timer = setInterval(() => void load(), 3000);
  ctx.onLeave(() => clearInterval(timer));
}

/** One job: its machine, progress per step, and the controls the key may use in the state it is in. */
export function jobPage(ctx: PageContext, jobId: string): void {
  const head = el('div', { class: 'panel' }, el('p', { class: 'muted' }, 'Loading…'));
  const steps = el('div');
  const diagramBox = el('div');
  replace(ctx.root, el('h1', {}, 'Job ', el('span', { class: 'mono' }, jobId)), head, el('h2', {}, 'Progress per step'), steps, el('h2', {}, 'Its machine'), diagramBox);
  let diagram: Diagram | null = null;

  const control = async (name: string): Promise<void> => {
    try {
      await api(`/api/v1/jobs/${encodeURIComponent(jobId)}/${name}`, { method: 'POST' });
    } catch (error) {
      head.appendChild(el('p', { class: 'error' }, errorText(error)));
    }
    await load();
  };
  const load = async (): Promise<void> => {
    try {
      const [job, m] = await Promise.all([api<Job>(`/api/v1/jobs/${encodeURIComponent(jobId)}`), machine('job')]);
      if (!diagram) {
        diagram = new Diagram(m);
        diagramBox.replaceChildren(diagram.element);
      }
      diagram.show({ [job.status]: 1 });
      const taken = eventsTaken(m, job.status);
      const controls = CONTROLS.filter((c) => allows(ctx.session, c.permission));
      replace(
        head,
        el('p', {}, el('strong', {}, job.name), ' ', el('span', { id: 'job-status', class: `badge ${job.status}` }, job.status)),
        el(
          'p',
          { class: 'muted' },
          `${job.finished} of ${job.targets} targets finished, ${job.succeeded} succeeded · rate ${job.rate_per_minute === null ? 'unlimited' : `${job.rate_per_minute}/min`}` +
            (job.next_window_at ? ` · next window ${time(job.next_window_at)}` : '') +
            (job.driven_by ? ` · driven by ${job.driven_by}` : ''),
        ),
        job.abort_reason ? el('p', { class: 'error' }, `Aborted: ${job.abort_reason}`) : '',
        el(
          'div',
          { class: 'filters' },
          ...controls.map((c) => el('button', { class: 'action secondary', 'data-control': c.name, disabled: !taken.has(c.event), onclick: () => void control(c.name) }, c.name)),
        ),
      );
      replace(
        steps,
        table(
          ['step', 'action', 'progress', 'counts'],
          job.steps.map((step, i) => {
            const total = Object.values(step.counts).reduce((a, b) => a + b, 0) || 1;
            return [
              i,
              step.action,
              el('div', { class: 'bar' }, ...Object.entries(COLOURS).map(([status, colour]) => segment(status, colour, (step.counts[status] ?? 0) / total))),
              el('div', { class: 'counts' }, ...Object.entries(step.counts).map(([status, n]) => (n > 0 ? el('span', { class: `badge ${status}` }, `${status} ${n}`) : ''))),
            ];
          }),
        ),
        el('p', {}, el('a', { href: `#/commands?request_id=${encodeURIComponent(jobId)}` }, 'Its commands')),
      );
    } catch (error) {
      replace(head, el('p', { class: 'error' }, errorText(error)));
    }
  };
  void load();
  const timer = setInterval(() => void load(), 2000);
  ctx.onLeave(() => clearInterval(timer));
}
