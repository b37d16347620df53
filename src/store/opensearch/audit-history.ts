import type { Client } from '@opensearch-project/opensearch';
import type { AuditEvent } from '../store.js';
import { storedFromStatus, storedStatus } from '../stored-status.js';
import type { AuditSource } from './command-source.js';
import { toCourierError } from './failures.js';
import { searchAll } from './search.js';

/** An audit record's id: its `_seq_no` + 1 (so that '0' can mean "before the first record"). */
export function auditId(seqNo: number): string {
  return String(seqNo + 1);
}

/**
 * A command's audit trail from `courier-audit`, in the order of its changes (`order`: the command's
 * `_seq_no` each one was conditioned on; its creation first), every record written so far included.
 */
export async function readHistory(client: Client, auditIndex: string, documentId: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  try {
    // Audit records are written without a refresh: make every one written so far searchable.
    await client.indices.refresh({ index: auditIndex });
    const query = { bool: { filter: [{ term: { document_id: documentId } }, { term: { kind: 'transition' } }] } };
    // Records of one write share its `order`: then by time, then as written (in transition order).
    const pages = searchAll<AuditSource>(client, auditIndex, query, 1000, [{ order: 'asc' }, { at: 'asc' }, { _seq_no: 'asc' }]);
    for await (const hits of pages) {
      for (const hit of hits) {
        const { document_id, from, to, cause, at, node, actor } = hit._source;
        const where = `audit record ${auditId(hit._seq_no)}`;
        events.push({ id: auditId(hit._seq_no), document_id: document_id!, from: storedFromStatus(from, where), to: storedStatus(to, where), cause, at, node, actor });
      }
    }
  } catch (error) {
    throw toCourierError(error);
  }
  return events;
}
