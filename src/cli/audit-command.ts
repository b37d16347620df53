import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { createParser } from 'eventsource-parser';
import { Connection, RefusedByCourier, withConnectionOptions } from './connection.js';
import { AUDIT_FILTERS, filterQuery, withAuditFilters } from './filters.js';
import { printJson } from './format.js';
import { auditLine, type AuditEntry } from './views.js';
import { exits, wholeNumberOf } from './usage.js';
import { durationOrNull } from '../domain/duration.js';

/** `courier audit`. */
export function registerAudit(program: Command): void {
  withConnectionOptions(
    withAuditFilters(program.command('audit').description('the audit trail, newest first, a page at a time; or (--follow) its live feed'))
      .addOption(new Option('--since <d>', 'entries of the last 30s, 15m, 1h, 2d (or since a time, as --from)').argParser(sinceOption).conflicts('from'))
      .addOption(new Option('--reverse', 'oldest first (the order the trail was written)').conflicts('follow'))
      .option('--follow', 'keep printing new entries as they happen (server-sent events; resumes after a dropped connection)')
      .option('--limit <n>', 'entries per page', wholeNumberOf('entries', 1, 1000), 100)
      .option('--cursor <c>', 'the next page, as the previous one printed it'),
  ).action(
    exits(async (options) => {
      const query = filterQuery(AUDIT_FILTERS, options);
      if (options.since !== undefined) query.set('from', options.since);
      const connection = Connection.from(options);
      const print = (entry: AuditEntry) => (options.json ? console.log(JSON.stringify(entry)) : console.log(auditLine(entry)));
      if (options.follow) return follow(connection, query, print);
      query.set('limit', String(options.limit));
      query.set('order', options.reverse ? 'asc' : 'desc');
      if (options.cursor) query.set('cursor', options.cursor);
      const page = await connection.ok<{ items: AuditEntry[]; next: string | null }>('GET', `/api/v1/audit?${query}`);
      if (options.json) printJson(page);
      else {
        for (const entry of page.items) print(entry);
        if (page.next) console.log(`more: --cursor ${page.next}`);
      }
      return 0;
    }),
  );
}

function sinceOption(text: string): string {
  const from = sinceTime(text, Date.now());
  if (from === null) throw new InvalidArgumentError('Give a duration such as 30s, 15m, 1h or 2d, or a time.');
  return from;
}

/** `--since`: a duration back from `now`, or a time; as an ISO time, or null when it is neither. */
export function sinceTime(text: string, now: number): string | null {
  // A bare number is not taken for seconds here: it may be meant as a time.
  const back = /^\d+$/.test(text.trim()) ? null : durationOrNull(text);
  if (back !== null) return new Date(now - back).toISOString();
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

function parsedError(body: string): { message?: string; code?: string } {
  try {
    return JSON.parse(body) as { message?: string; code?: string };
  } catch {
    return {};
  }
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
    await new Promise<void>((resolve, reject) => {
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
            // A refusal (a revoked key, a bad filter) is not retried: it is reported as every refusal is.
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => {
              const error = parsedError(body);
              reject(new RefusedByCourier(res.statusCode ?? 0, error.message ?? body, error.code ?? null));
            });
            return;
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
