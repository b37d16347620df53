import type { CommandStatus } from '../../domain/command.js';
import { zeroCountsByStatus } from '../../domain/command.js';
import { normalizeStatus } from './command-source.js';

// Queries on a document's status (see `statusOf`): courier's own on what courier wrote
// (`courier.status`), else `command.status` as whoever wrote it spells it.

/**
 * A query clause: the status of a document is one of `statuses`: courier's own (`courier.status`)
 * on documents courier wrote, else `command.status` as any writer spells it: the Wazuh indexer
 * plugin writes its enum in uppercase (`PENDING`, `FAILURE`), some versions `failed`, courier
 * wrote lowercase before it kept its own status apart. A term query is exact, so each status is
 * asked for in each spelling.
 */
export function statusIn(statuses: readonly CommandStatus[]) {
  const words = statuses.flatMap((status) => (status === 'failure' ? [status, 'failed'] : [status]));
  return {
    bool: {
      minimum_should_match: 1,
      should: [
        { terms: { 'courier.status': [...statuses] } },
        { bool: { must_not: { exists: { field: 'courier.status' } }, filter: { terms: { 'command.status': words.flatMap((word) => [word, word.toUpperCase()]) } } } },
      ],
    },
  };
}

/** An aggregation counting documents per status (read it with `countsOf`). */
export const STATUS_COUNTS_AGGS = {
  own: { terms: { field: 'courier.status', size: 100 } },
  foreign: { filter: { bool: { must_not: { exists: { field: 'courier.status' } } } }, aggs: { status: { terms: { field: 'command.status', size: 100 } } } },
};

type Buckets = { buckets: { key: string; doc_count: number }[] };

/** The counts per status of a `STATUS_COUNTS_AGGS` answer, and their total. */
export function countsOf(aggregations: Record<string, unknown> | undefined): { counts: Record<CommandStatus, number>; total: number } {
  const counts = zeroCountsByStatus();
  let total = 0;
  const own = aggregations?.own as Buckets | undefined;
  const foreign = (aggregations?.foreign as { status?: Buckets } | undefined)?.status;
  for (const bucket of [...(own?.buckets ?? []), ...(foreign?.buckets ?? [])]) {
    const status = normalizeStatus(bucket.key);
    if (!status) continue;
    counts[status] += bucket.doc_count;
    total += bucket.doc_count;
  }
  return { counts, total };
}
