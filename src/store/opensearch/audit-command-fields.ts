import type { CommandDocument } from '../../domain/command.js';

/** The fields of a command that its audit records carry, for filtering the trail. */
export interface AuditCommandFields {
  route: string;
  target_type: string;
  target_id: string;
  action: string;
  request_id: string;
  agent_id: string | null;
  agent_groups: string[];
}

export function auditCommandFields(doc: CommandDocument): AuditCommandFields {
  return {
    route: doc.route,
    target_type: doc.command.target.type,
    target_id: doc.command.target.id,
    action: doc.command.action.name,
    request_id: doc.command.request_id,
    agent_id: doc.agent.id,
    agent_groups: doc.agent.groups,
  };
}
