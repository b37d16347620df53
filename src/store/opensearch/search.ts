import type { Client } from '@opensearch-project/opensearch';
import { errors } from '../../errors.js';
import { assertComplete } from './failures.js';

/** One search hit, as courier reads them (always with `seq_no_primary_term`). */
export interface Hit<T> {
  _id: string;
  _seq_no: number;
  _primary_term: number;
  _source: T;
  sort?: unknown[];
}

export interface SearchBody<T> {
  timed_out?: boolean;
  _shards?: { total?: number; failed?: number };
  hits: { hits: Hit<T>[] };
  aggregations?: Record<string, unknown>;
}

/**
 * One search that must be complete: it fails (and never returns hits) if a shard failed or the
 * search timed out, so that a caller never takes a partial answer for the whole.
 */
export async function searchComplete<T>(client: Client, index: string, body: Record<string, unknown>): Promise<SearchBody<T>> {
  const res = await client.search({
    index,
    allow_partial_search_results: false,
    body: { seq_no_primary_term: true, track_total_hits: false, ...body },
  });
  const answer = res.body as unknown as SearchBody<T>;
  assertComplete(answer);
  return answer;
}

/**
 * Every hit of a query, a page at a time, by `search_after` on `sort` (which must end in a
 * unique key). No cap: it reads until a page comes back short.
 */
export async function* searchAll<T>(client: Client, index: string, query: object, pageSize: number, sort: object[] = [{ _seq_no: 'asc' }]): AsyncGenerator<Hit<T>[]> {
  let after: unknown[] | undefined;
  for (;;) {
    const page = await searchComplete<T>(client, index, { query, sort, size: pageSize, ...(after ? { search_after: after } : {}) });
    const hits = page.hits.hits;
    if (hits.length > 0) yield hits;
    if (hits.length < pageSize) return;
    after = hits[hits.length - 1]!.sort;
  }
}

/**
 * The documents among `ids` that exist, by `_mget` (realtime: no refresh needed) in chunks of 1,000,
 * with their versions. A document whose shard cannot be read (recovering, unassigned) fails the
 * call as `COURIER_ERR_STORE_UNAVAILABLE`: it is not absent, and the caller may try again.
 */
export async function getFound<T>(client: Client, index: string, ids: string[], what: string): Promise<Hit<T>[]> {
  const found: Hit<T>[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const res = await client.mget({ index, body: { ids: ids.slice(i, i + 1000) } });
    const docs = (res.body as unknown as { docs: (Hit<T> & { found?: boolean; error?: { type?: string; reason?: string } })[] }).docs;
    for (const doc of docs) {
      if (doc.error) throw errors.STORE_UNAVAILABLE(`${what} ${doc._id} could not be read: ${doc.error.type ?? ''} ${doc.error.reason ?? ''}`.trimEnd());
      if (doc.found && doc._source) found.push(doc);
    }
  }
  return found;
}
