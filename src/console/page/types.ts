// The shapes of the management API's answers the page reads (see its OpenAPI document).

import type { MachineLayout } from './diagram-layout.js';

export interface Session {
  name: string;
  role: string;
  scope: string[];
  permissions: string[];
  node: string;
}

export interface Agent {
  id: string;
  name: string | null;
  groups: string[];
  created_at: string;
  connection: 'websocket' | 'long-poll' | 'offline';
  node: string | null;
  last_seen: string | null;
}

export interface Command {
  document_id: string;
  '@timestamp': string;
  delivery_timestamp: string;
  agent: { id: string | null; groups: string[] };
  source: string;
  user?: string;
  target: { type: string; id: string };
  action: { name: string; args: Record<string, unknown>; version: string };
  timeout: number;
  request_id: string;
  job_id?: string;
  step?: number;
  attempt?: number;
  status: string;
  result?: { code: number; message: string; data?: unknown };
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
  kind: 'transition' | 'refusal' | 'job' | 'membership' | 'key';
  document_id: string | null;
  job_id?: string;
  /** A membership change: the agent, its groups after and before. */
  agent_id?: string;
  groups?: string[];
  previous_groups?: string[];
  key_id?: string;
  from?: string | null;
  to?: string;
  cause: string;
  at: string;
  node: string;
  actor: string;
  detail?: string;
}

export interface RequestSummary {
  request_id: string;
  total: number;
  counts: Record<string, number>;
  not_succeeded: { items: { document_id: string; agent_id: string | null; status: string; result: { code: number; message: string } | null }[]; next: string | null };
}

export interface JobSummary {
  job_id: string;
  name: string;
  status: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  targets: number;
}

export interface Job extends JobSummary {
  steps: { action: string; counts: Record<string, number> }[];
  finished: number;
  succeeded: number;
  rate_per_minute: number | null;
  next_window_at: string | null;
  abort_reason: string | null;
  driven_by: string | null;
}

export interface Machine {
  id: string;
  title: string;
  file: string;
  layout: MachineLayout;
}

export interface LiveStates {
  counts: Record<string, number>;
  actors: { id: string; states: string[] }[];
}
