import type { CommandDocument, CommandResult, CommandState } from '../../domain/command.js';
import { storedStatus } from '../stored-status.js';
import type { AgentRecord } from '../records.js';

/** A `commands` row as the queries select it. */
export interface CommandRow {
  doc: string;
  status: string;
  result: string | null;
  delivered_at: number | null;
  execution_deadline: number | null;
  attempts: number;
}

export function rowToState(row: CommandRow): CommandState {
  const doc = JSON.parse(row.doc) as CommandDocument;
  return {
    doc,
    status: storedStatus(row.status, `command ${doc.document_id}`),
    result: row.result ? (JSON.parse(row.result) as CommandResult) : null,
    deliveredAt: row.delivered_at,
    executionDeadline: row.execution_deadline,
    attempts: row.attempts,
  };
}

/** An `agents` row as the queries select it. */
export type AgentRow = { id: string; key_hash: string; groups: string; created_at: number; name: string | null };

export function agentRecord(row: AgentRow): AgentRecord {
  return { id: row.id, keyHash: row.key_hash, groups: JSON.parse(row.groups) as string[], createdAt: row.created_at, ...(row.name !== null ? { name: row.name } : {}) };
}
