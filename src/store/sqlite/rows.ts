import type { CommandDocument, CommandResult, CommandState, CommandStatus } from '../../domain/command.js';

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
  return {
    doc: JSON.parse(row.doc) as CommandDocument,
    status: row.status as CommandStatus,
    result: row.result ? (JSON.parse(row.result) as CommandResult) : null,
    deliveredAt: row.delivered_at,
    executionDeadline: row.execution_deadline,
    attempts: row.attempts,
  };
}
