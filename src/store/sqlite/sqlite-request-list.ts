import type Database from 'better-sqlite3';
import { TARGET_TYPES, zeroCountsByStatus, type TargetType } from '../../domain/command.js';
import { storedStatus } from '../stored-status.js';
import type { Page, PageOf, RequestFilter, RequestListItem } from '../operator-store.js';
import { commandConditions, nextCursor, numericCursor, Where } from './query-conditions.js';

interface HeadRow {
  seq: number;
  request_id: string;
  created_at: number;
  source: string | null;
  user: string | null;
}

interface CountRow {
  request_id: string;
  status: string;
  n: number;
  action_min: string;
  action_max: string;
  target_min: string | null;
  target_max: string | null;
}

/**
 * Requests on the embedded store, newest first by the `seq` of their first command (the cursor).
 *
 * A request's head is its first command the filter selects. The heads are found by walking the
 * commands back from the cursor by `seq` and keeping each that has no earlier selected command of
 * its request (one probe of the request index), up to a page of them: a page costs the commands
 * walked (those of its requests and any created in between), not the size of the store, except
 * when fewer requests than a page match (a narrow `from`, an action no one sends), where the walk
 * goes back to the first command. Then the page's requests are counted from the request index and
 * each row's status.
 */
export function listRequests(db: Database.Database, filter: RequestFilter, page: Page): PageOf<RequestListItem> {
  const { from, to, ...selected } = filter;
  const where = new Where();
  commandConditions(where, selected, 'h');
  // The same conditions on an earlier command of the request, in the same statement.
  const earlier = taken(where, () => commandConditions(where, selected, 'c'));
  const cursor = numericCursor(page.cursor);
  if (cursor !== null) where.add(`h.seq < ${where.param(cursor)}`);
  if (from !== undefined) where.add(`h.created_at >= ${where.param(from)}`);
  if (to !== undefined) where.add(`h.created_at < ${where.param(to)}`);
  where.add(`NOT EXISTS (SELECT 1 FROM commands c WHERE c.request_id = h.request_id AND c.seq < h.seq${earlier.map((e) => ` AND ${e}`).join('')})`);
  const heads = db
    .prepare(
      `SELECT h.seq, h.request_id, h.created_at, json_extract(h.doc, '$.command.source') AS source, json_extract(h.doc, '$.command.user') AS user
       FROM commands h ${where} ORDER BY h.seq DESC LIMIT ${page.limit}`,
    )
    .all(where.params) as HeadRow[];
  if (heads.length === 0) return { items: [], next: null };

  const counted = new Where();
  counted.in(
    'c.request_id',
    heads.map((h) => h.request_id),
  );
  commandConditions(counted, selected, 'c');
  const rows = db
    .prepare(
      `SELECT c.request_id, c.status, COUNT(*) AS n, MIN(c.action) AS action_min, MAX(c.action) AS action_max, MIN(c.target) AS target_min, MAX(c.target) AS target_max
       FROM commands c ${counted} GROUP BY c.request_id, c.status`,
    )
    .all(counted.params) as CountRow[];
  const byRequest = new Map<string, CountRow[]>();
  for (const row of rows) byRequest.set(row.request_id, [...(byRequest.get(row.request_id) ?? []), row]);
  return {
    items: heads.map((head) => item(head, byRequest.get(head.request_id) ?? [])),
    next: nextCursor(heads, page.limit, (h) => h.seq),
  };
}

function item(head: HeadRow, rows: CountRow[]): RequestListItem {
  const counts = zeroCountsByStatus();
  let total = 0;
  for (const row of rows) {
    counts[storedStatus(row.status, `request ${head.request_id}`)] += row.n;
    total += row.n;
  }
  const least = (values: (string | null)[]) => values.reduce<string | null>((a, b) => (a === null || (b !== null && b < a) ? b : a), null);
  const most = (values: (string | null)[]) => values.reduce<string | null>((a, b) => (a === null || (b !== null && b > a) ? b : a), null);
  const [leastAction, mostAction] = [least(rows.map((r) => r.action_min)), most(rows.map((r) => r.action_max))];
  // Targets are 'type:id'; sorted as strings, the least and the greatest share a type only if all do.
  const first = splitTarget(least(rows.map((r) => r.target_min)));
  const last = splitTarget(most(rows.map((r) => r.target_max)));
  const sameType = first !== null && last !== null && first.type === last.type;
  return {
    request_id: head.request_id,
    created_at: head.created_at,
    total,
    counts,
    action: leastAction !== null && leastAction === mostAction ? leastAction : null,
    target_type: sameType ? first.type : null,
    target_id: sameType && first.id === last.id ? first.id : null,
    source: head.source,
    user: head.user,
  };
}

function splitTarget(target: string | null): { type: TargetType; id: string } | null {
  const colon = target === null ? -1 : target.indexOf(':');
  if (target === null || colon < 0) return null;
  const type = target.slice(0, colon);
  return (TARGET_TYPES as readonly string[]).includes(type) ? { type: type as TargetType, id: target.slice(colon + 1) } : null;
}

/** The conditions `add` appends to `where`, taken out of it: they share its parameters, to be used elsewhere in the same statement. */
function taken(where: Where, add: () => void): string[] {
  const before = where.conditions.length;
  add();
  return where.conditions.splice(before);
}
