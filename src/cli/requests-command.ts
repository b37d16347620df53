import { parseArgs } from 'node:util';
import { badUsage } from './usage.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { printJson, table } from './format.js';

const HELP = `Usage: courier requests show <request_id> [--limit n] [--cursor c]
One fan-out at a glance: counts per status, and the agents whose command did not (yet) succeed.

${CONNECTION_HELP}`;

export interface RequestSummary {
  request_id: string;
  total: number;
  counts: Record<string, number>;
  not_succeeded: {
    items: { document_id: string; agent_id: string | null; status: string; result: { code: number; message: string } | null }[];
    next: string | null;
  };
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

export async function runRequests(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, limit: { type: 'string' }, cursor: { type: 'string' } },
  });
  const [verb, id] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (verb !== 'show' || !id) return badUsage('requests', verb, ['show'], HELP);
  const query = new URLSearchParams({ limit: values.limit ?? '100', ...(values.cursor ? { cursor: values.cursor } : {}) });
  const summary = await Connection.from(values).ok<RequestSummary>('GET', `/api/v1/requests/${encodeURIComponent(id)}?${query}`);
  if (values.json) printJson(summary);
  else printSummary(summary);
  return 0;
}
