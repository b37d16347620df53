import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';
import { CONNECTION_HELP, CONNECTION_OPTIONS, Connection } from './connection.js';
import { AUDIT_FILTERS, filterOptions, filterQuery } from './filters.js';
import { printJson } from './format.js';
import { auditLine, type AuditEntry } from './views.js';
import { EXIT } from './exit-codes.js';
import { durationOrNull } from '../domain/duration.js';

const HELP = `Usage: courier audit [filters] [--reverse] [--follow] [--limit n] [--cursor c]
Newest first, a page at a time (--limit, default 100; the next page with the --cursor it prints).
Filters: --status s[,s] --agent id --target-type t --target-id id --action a --request id
         --actor who --node name --kind transition|refusal|job --from time --to time
  --since <d>  entries of the last 30s, 15m, 1h, 2d (or since a time, as --from)
  --reverse  oldest first (the order the trail was written)
  --follow   keep printing new entries as they happen (server-sent events; resumes after a dropped connection)

${CONNECTION_HELP}`;

export async function runAudit(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...CONNECTION_OPTIONS,
      ...filterOptions(AUDIT_FILTERS),
      follow: { type: 'boolean', default: false },
      reverse: { type: 'boolean', default: false },
      since: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const query = filterQuery(AUDIT_FILTERS, values);
  if (values.since !== undefined) {
    const from = sinceTime(values.since, Date.now());
    if (from === null) {
      console.error(`courier audit: --since must be a duration such as 30s, 15m, 1h or 2d, or a time (not "${values.since}")`);
      return EXIT.USAGE;
    }
    if (query.has('from')) {
      console.error('courier audit: give --since or --from, not both');
      return EXIT.USAGE;
    }
    query.set('from', from);
  }
  const connection = Connection.from(values);
  const print = (entry: AuditEntry) => (values.json ? console.log(JSON.stringify(entry)) : console.log(auditLine(entry)));
  if (values.reverse && values.follow) {
    console.error('courier audit: --follow prints entries as they are written; --reverse is for a page of the trail');
    return EXIT.USAGE;
  }
  if (values.follow) return follow(connection, query, print);
  query.set('limit', values.limit ?? '100');
  query.set('order', values.reverse ? 'asc' : 'desc');
  if (values.cursor) query.set('cursor', values.cursor);
  const page = await connection.ok<{ items: AuditEntry[]; next: string | null }>('GET', `/api/v1/audit?${query}`);
  if (values.json) printJson(page);
  else {
    for (const entry of page.items) print(entry);
    if (page.next) console.log(`more: --cursor ${page.next}`);
  }
  return 0;
}

/** `--since`: a duration back from `now`, or a time; as an ISO time, or null when it is neither. */
export function sinceTime(text: string, now: number): string | null {
  // A bare number is not taken for seconds here: it may be meant as a time.
  const back = /^\d+$/.test(text.trim()) ? null : durationOrNull(text);
  if (back !== null) return new Date(now - back).toISOString();
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

/** Prints the live feed until interrupted; after a dropped connection it resumes from the last id seen. */
async function follow(connection: Connection, query: URLSearchParams, print: (entry: AuditEntry) => void): Promise<number> {
  let lastId: string | null = null;
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
    process.exit(0);
  });
  const tls = await connection.clientTls();
  while (!stopping) {
    await new Promise<void>((resolve) => {
      const target = connection.rawTarget();
      const path = `/api/v1/events/stream?${query}`;
      const url = target.baseUrl ? new URL(path, target.baseUrl) : null;
      const request = url?.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(
        {
          ...(url ? { hostname: url.hostname, port: url.port, path: url.pathname + url.search, ...tls } : { socketPath: target.socketPath, path }),
          headers: { ...target.headers, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        },
        (res) => {
          if (res.statusCode !== 200) {
            console.error(`courier: the event stream answered ${res.statusCode}`);
            process.exit(1);
          }
          const parser = createParser({
            onEvent: (event) => {
              if (event.id) lastId = event.id;
              print(JSON.parse(event.data) as AuditEntry);
            },
          });
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => parser.feed(chunk));
          res.on('end', resolve);
          res.on('error', resolve);
        },
      );
      req.on('error', (error) => {
        console.error(`courier: ${error.message}; retrying`);
        setTimeout(resolve, 1000);
      });
      req.end();
    });
  }
  return 0;
}
