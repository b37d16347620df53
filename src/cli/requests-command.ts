import { Option, type Command } from '@commander-js/extra-typings';
import { TARGET_TYPES } from '../domain/command.js';
import { filterQuery } from './filters.js';
import { Connection, withConnectionOptions } from './connection.js';
import { printJson, shortTime, table } from './format.js';
import { exits, wholeNumberOf } from './usage.js';

export interface RequestSummary {
  request_id: string;
  total: number;
  counts: Record<string, number>;
  not_succeeded: {
    items: { document_id: string; agent_id: string | null; status: string; result: { code: number; message: string } | null }[];
    next: string | null;
  };
}

/** One line of `GET /api/v1/requests`: a fan-out, what it was and where it stands. */
interface RequestListItem {
  request_id: string;
  created_at: string;
  total: number;
  counts: Record<string, number>;
  /** What all its commands share, null where they differ. */
  action: string | null;
  target_type: string | null;
  target_id: string | null;
}

export function printSummary(summary: RequestSummary): void {
  console.log(`request ${summary.request_id}: ${summary.total} commands`);
  console.log(table(Object.keys(summary.counts), [Object.values(summary.counts)]));
  if (summary.not_succeeded.items.length > 0) {
    console.log(
      table(
        ['agent', 'status', 'result', 'document_id'],
        summary.not_succeeded.items.map((i) => [i.agent_id, i.status, i.result ? `${i.result.code} ${i.result.message}` : '', i.document_id]),
      ),
    );
  }
  if (summary.not_succeeded.next) console.log(`more: --cursor ${summary.not_succeeded.next}`);
}

/** The parsed filter options of `requests list` and the query parameters they become. */
const REQUEST_FILTERS = { action: 'action', targetType: 'target_type', targetId: 'target_id', from: 'from', to: 'to' } as const;

function targetText(request: RequestListItem): string {
  if (request.target_type === null) return '(several)';
  return request.target_id === null ? request.target_type : `${request.target_type}:${request.target_id}`;
}

/** The counts of a request in one cell: `success 12 · failure 1 · pending 3`, zeros left out. */
function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${status} ${n}`)
    .join(' · ');
}

/** `courier requests list|show`. */
export function registerRequests(program: Command): void {
  const requests = program.command('requests').description('fan-outs: the commands one send created, at a glance');
  withConnectionOptions(
    requests
      .command('list')
      .description('requests, newest first, with their counts per status')
      .option('--action <name>', 'only requests of this action')
      .addOption(new Option('--target-type <type>', 'only requests to this kind of target').choices(TARGET_TYPES))
      .option('--target-id <id>', 'only requests to this target (an agent, a group, a server component)')
      .option('--from <time>', 'made at or after this time (ISO 8601)')
      .option('--to <time>', 'made before this time (ISO 8601)')
      .option('--limit <n>', 'requests per page', wholeNumberOf('requests', 1, 1000), 50)
      .option('--cursor <c>', 'the next page, as the previous one printed it'),
  ).action(
    exits(async (options) => {
      const query = filterQuery(REQUEST_FILTERS, options);
      query.set('limit', String(options.limit));
      if (options.cursor) query.set('cursor', options.cursor);
      const page = await Connection.from(options).ok<{ items: RequestListItem[]; next: string | null }>('GET', `/api/v1/requests?${query}`);
      if (options.json) printJson(page);
      else {
        console.log(
          table(
            ['request_id', 'created', 'action', 'target', 'total', 'statuses'],
            page.items.map((r) => [r.request_id, shortTime(r.created_at), r.action ?? '(several)', targetText(r), r.total, countsText(r.counts)]),
          ),
        );
        if (page.next) console.log(`more: --cursor ${page.next}`);
      }
      return 0;
    }),
  );
  withConnectionOptions(
    requests
      .command('show')
      .description('one request: counts per status, and the agents whose command did not (yet) succeed')
      .argument('<request_id>', "the request's id (send and commands list print it)")
      .option('--limit <n>', 'commands not succeeded per page', wholeNumberOf('commands', 1, 1000), 100)
      .option('--cursor <c>', 'the next page, as the previous one printed it'),
  ).action(
    exits(async (id, options) => {
      const query = new URLSearchParams({ limit: String(options.limit), ...(options.cursor ? { cursor: options.cursor } : {}) });
      const summary = await Connection.from(options).ok<RequestSummary>('GET', `/api/v1/requests/${encodeURIComponent(id)}?${query}`);
      if (options.json) printJson(summary);
      else printSummary(summary);
      return 0;
    }),
  );
}
