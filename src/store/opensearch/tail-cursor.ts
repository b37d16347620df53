import type { Client } from '@opensearch-project/opensearch';
import type { TailCursor } from '../../poller/indexer-source.js';
import { isStatus } from './failures.js';

/** The poller's durable cursor, one document per node in the state index. */
function cursorId(node: string): string {
  return `tail-cursor:${node}`;
}

export async function readTailCursor(client: Client, index: string, node: string): Promise<TailCursor | null> {
  try {
    const res = await client.get({ index, id: cursorId(node) });
    const source = (res.body as unknown as { _source: { cursor: number; index_uuid: string } })._source;
    return { seqNo: source.cursor, indexUuid: source.index_uuid };
  } catch (error) {
    if (isStatus(error, 404)) return null;
    throw error;
  }
}

export async function writeTailCursor(client: Client, index: string, node: string, cursor: TailCursor, now: number): Promise<void> {
  await client.index({ index, id: cursorId(node), body: { node, cursor: cursor.seqNo, index_uuid: cursor.indexUuid, updated_at: now } });
}
