import type { Client } from '@opensearch-project/opensearch';
import { errors } from '../../errors.js';

export interface IndexCheckpoint {
  /** A recreated index has a new uuid (and starts its `_seq_no` over). */
  indexUuid: string;
  /**
   * The global checkpoint of the index's (single) primary shard: every operation with a `_seq_no`
   * up to it is done, so after a refresh every document written at or below it is searchable.
   * -1 when nothing was ever written.
   */
  checkpoint: number;
}

interface IndexStats {
  uuid: string;
  shards: Record<string, { routing: { primary: boolean }; seq_no?: { global_checkpoint: number; max_seq_no: number } }[]>;
}

/** The shard-level stats of the indices `index` names. */
async function shardStats(client: Client, index: string): Promise<IndexStats[]> {
  const res = await client.indices.stats({ index, level: 'shards', metric: 'docs' });
  return Object.values((res.body as unknown as { indices: Record<string, IndexStats> }).indices);
}

/** The checkpoint of a one-shard index, from its shard-level stats. */
export async function indexCheckpoint(client: Client, index: string): Promise<IndexCheckpoint> {
  const stats = await shardStats(client, index);
  if (stats.length !== 1) throw errors.OPENSEARCH_INDEX(index, `resolves to ${stats.length} indices, not 1`);
  const shards = Object.values(stats[0]!.shards);
  if (shards.length !== 1) throw errors.OPENSEARCH_INDEX(index, `has ${shards.length} primary shards, not 1`);
  const primary = shards[0]!.find((copy) => copy.routing.primary);
  if (!primary?.seq_no) throw errors.OPENSEARCH_INDEX(index, 'its primary shard reports no sequence numbers');
  return { indexUuid: stats[0]!.uuid, checkpoint: primary.seq_no.global_checkpoint };
}

/**
 * A mark of every write an index has taken: its uuid and, per shard, the highest `_seq_no` of its
 * primary. Any write (index, update, delete) changes it; equal marks mean nothing was written between.
 */
export async function writeMark(client: Client, index: string): Promise<string> {
  return (await shardStats(client, index))
    .map(({ uuid, shards }) => {
      const primaries = Object.entries(shards).map(([shard, copies]) => `${shard}:${copies.find((c) => c.routing.primary)?.seq_no?.max_seq_no ?? '?'}`);
      return `${uuid}/${primaries.sort().join(',')}`;
    })
    .join(';');
}
