import { shortTime, table } from './format.js';

/** Shapes of the API's answers, as the CLI prints them. */
export interface CommandView {
  document_id: string;
  '@timestamp': string;
  agent: { id: string | null };
  target: { type: string; id: string };
  action: { name: string };
  status: string;
  request_id: string;
  user?: string;
  result?: { code: number; message: string };
}

export interface HistoryEvent {
  from: string | null;
  to: string;
  cause: string;
  at: string;
  node: string;
  actor: string;
}

export interface AuditEntry {
  id: string;
  kind: string;
  document_id: string | null;
  /** A job's transition names the job. */
  job_id?: string;
  from?: string | null;
  to?: string;
  cause: string;
  at: string;
  node: string;
  actor: string;
  detail?: string;
  /** A membership change: the agent, its groups after and before. */
  agent_id?: string;
  groups?: string[];
  previous_groups?: string[];
  /** A key created or revoked. */
  key_id?: string;
}

export function commandsTable(commands: CommandView[]): string {
  return table(
    ['document_id', 'request_id', 'created', 'target', 'agent', 'action', 'status', 'result'],
    commands.map((c) => [
      c.document_id,
      c.request_id,
      shortTime(c['@timestamp']),
      `${c.target.type}:${c.target.id}`,
      c.agent.id,
      c.action.name,
      c.status,
      c.result ? `${c.result.code} ${c.result.message}` : '',
    ]),
  );
}

export function historyTable(events: HistoryEvent[]): string {
  return table(
    ['at', 'from', 'to', 'cause', 'actor', 'node'],
    events.map((e) => [shortTime(e.at), e.from ?? '-', e.to, e.cause, e.actor, e.node]),
  );
}

export function auditLine(e: AuditEntry): string {
  const head = `${e.id}\t${shortTime(e.at)}`;
  switch (e.kind) {
    case 'job':
      return `${head}\tjob ${e.job_id}\t${e.from ?? '-'} -> ${e.to}\t${e.cause}\t${e.actor}\t${e.node}${e.detail ? `\t${e.detail}` : ''}`;
    case 'refusal':
      return `${head}\trefused\t${e.actor}\t${e.detail ?? ''}`;
    case 'membership':
      return `${head}\tagent ${e.agent_id}\tgroups ${(e.previous_groups ?? []).join(',') || '-'} -> ${(e.groups ?? []).join(',') || '-'}\t${e.cause}${e.document_id ? ` ${e.document_id}` : ''}\t${e.actor}\t${e.node}`;
    case 'key':
      return `${head}\tkey ${e.key_id}\t${e.cause}\t${e.actor}\t${e.node}${e.detail ? `\t${e.detail}` : ''}`;
    default:
      return `${head}\t${e.document_id}\t${e.from ?? '-'} -> ${e.to}\t${e.cause}\t${e.actor}\t${e.node}`;
  }
}
