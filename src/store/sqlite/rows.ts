import type { CommandDocument, CommandResult, CommandState } from '../../domain/command.js';
import { storedStatus } from '../stored-status.js';

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
