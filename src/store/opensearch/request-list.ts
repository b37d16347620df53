import type { Client } from '@opensearch-project/opensearch';
import { TARGET_TYPES, type TargetType } from '../../domain/command.js';
import type { Page, PageOf, RequestFilter, RequestListItem } from '../operator-store.js';
import { toCourierError } from './failures.js';
import { IN_COMMANDS, all, commandClauses, decodeCursor, encodeCursor, timeClause, type Clause } from './operator-query-clauses.js';
import { searchComplete } from './search.js';
import { countsOf, STATUS_COUNTS_AGGS } from './status-query.js';

interface Bucket {
  key: string;
  doc_count: number;
}
type Terms = { buckets: Bucket[] };
interface HeadBucket extends Bucket {
  first: { value: number | null };
}
interface RequestBucket extends Bucket {
  actions: Terms;
  types: Terms;
  ids: Terms;
  head: { hits: { hits: { _source: { command?: { source?: string; user?: string } } }[] } };
}

/**
 * Requests on the OpenSearch store, newest first: by the time of their first command, then by
 * request id (the cursor holds both).
 *
 * Two searches of the commands index (one shard). The first finds the page's requests: a terms
 * aggregation on `command.request_id` ordered by each request's earliest `@timestamp`, over the
 * selected commands up to the cursor (a request created before the cursor has its first command
 * there, so its minimum is exact; one created at the cursor's time with an id not past it is left
 * out by a clause on both). It reads every selected command up to the cursor and holds one bucket
 * per request while it does: ~100,000 commands are a few tens of ms, and the cost grows with the
 * commands, not with the page. The second counts the page's requests (statuses, whether their
 * commands share an action and a target, the first one's source and user).
 */
export async function listRequests(client: Client, index: string, filter: RequestFilter, page: Page): Promise<PageOf<RequestListItem>> {
  const { from, to, ...selected } = filter;
  const commands = commandClauses(IN_COMMANDS, selected);
  const after = decodeCursor(page.cursor, ['number', 'string']) as [number, string] | undefined;
  const upTo: Clause[] = [...commands, ...timeClause('@timestamp', undefined, to)];
  const passed: Clause[] = [];
  if (after) {
    upTo.push({ range: { '@timestamp': { lte: after[0] } } });
    passed.push(all({ range: { '@timestamp': { gte: after[0], lte: after[0] } } }, { range: { 'command.request_id': { lte: after[1] } } }));
  }
  try {
    await client.indices.refresh({ index });
    const found = await searchComplete(client, index, {
      size: 0,
      query: { bool: { filter: upTo, must_not: passed } },
      aggs: {
        requests: {
          terms: { field: 'command.request_id', size: page.limit, order: [{ first: 'desc' }, { _key: 'asc' }] },
          aggs: { first: { min: { field: '@timestamp' } } },
        },
      },
    });
    const buckets = (found.aggregations?.requests as { buckets: HeadBucket[] }).buckets;
    // Newest first: past the first request created before `from`, none is after it.
    const heads = buckets.filter((b) => b.first.value !== null && (from === undefined || b.first.value >= from));
    if (heads.length === 0) return { items: [], next: null };

    const counted = await searchComplete(client, index, {
      size: 0,
      query: all(...commands, { terms: { 'command.request_id': heads.map((h) => h.key) } }),
      aggs: {
        requests: {
          terms: { field: 'command.request_id', size: heads.length },
          aggs: {
            ...STATUS_COUNTS_AGGS,
            actions: { terms: { field: 'command.action.name', size: 2 } },
            types: { terms: { field: 'command.target.type', size: 2 } },
            ids: { terms: { field: 'command.target.id', size: 2 } },
            head: { top_hits: { size: 1, sort: [{ '@timestamp': 'asc' }], _source: ['command.source', 'command.user'] } },
          },
        },
      },
    });
    const byId = new Map((counted.aggregations?.requests as { buckets: RequestBucket[] }).buckets.map((b) => [b.key, b]));
    const items = heads.flatMap((head) => {
      const bucket = byId.get(head.key);
      return bucket ? [item(head, bucket)] : [];
    });
    const last = heads.at(-1)!;
    return { items, next: heads.length === page.limit ? encodeCursor([last.first.value, last.key]) : null };
  } catch (error) {
    throw toCourierError(error);
  }
}

function item(head: HeadBucket, bucket: RequestBucket): RequestListItem {
  const { counts, total } = countsOf(bucket as unknown as Record<string, unknown>);
  /** The value every command of the request has, if they all have the same. */
  const shared = (terms: Terms) => (terms.buckets.length === 1 && terms.buckets[0]!.doc_count === bucket.doc_count ? terms.buckets[0]!.key : null);
  const type = shared(bucket.types);
  const targetType = type !== null && (TARGET_TYPES as readonly string[]).includes(type) ? (type as TargetType) : null;
  const command = bucket.head.hits.hits[0]?._source.command;
  return {
    request_id: head.key,
    created_at: head.first.value!,
    total,
    counts,
    action: shared(bucket.actions),
    target_type: targetType,
    target_id: targetType !== null ? shared(bucket.ids) : null,
    source: command?.source ?? null,
    user: command?.user ?? null,
  };
}
