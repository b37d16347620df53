import { randomUUID } from 'node:crypto';
import type { CommandDocument, CommandSpec } from '../domain/command.js';
import { agentRoute, serverRoute } from '../domain/command.js';
import { errors } from '../errors.js';
import type { CommandStore } from '../store/store.js';

/**
 * Turns what a producer asked for into command documents (a list per spec): one per agent for `agent` targets,
 * one per member (no cap) for `group` targets, one for a `server` component. Every target is
 * checked before anything is built, so a bad one fails the whole request and stores nothing.
 */
export async function buildCommandDocuments(
  specs: CommandSpec[],
  store: CommandStore,
  now: number,
  nextSeq: () => number,
): Promise<CommandDocument[][]> {
  if (specs.length === 0) throw errors.NO_COMMANDS();
  const requestId = randomUUID();

  const agentIds = specs.filter((s) => s.target.type === 'agent').map((s) => s.target.id);
  const groupsOf = agentIds.length > 0 ? await store.agentGroups(agentIds) : new Map<string, string[]>();
  const members = new Map<string, { id: string; groups: string[] }[]>();
  for (const spec of specs) {
    if (spec.target.type === 'agent' && !groupsOf.has(spec.target.id)) throw errors.UNKNOWN_AGENT(spec.target.id);
    if (spec.target.type === 'group' && !members.has(spec.target.id)) {
      const agents = await store.agentsInGroup(spec.target.id);
      if (agents.length === 0) throw errors.EMPTY_GROUP(spec.target.id);
      members.set(spec.target.id, agents);
    }
  }

  const docsPerSpec: CommandDocument[][] = [];
  for (const spec of specs) {
    const docs: CommandDocument[] = [];
    docsPerSpec.push(docs);
    const base = (agentId: string | null, groups: string[], route: string, documentId?: string): CommandDocument => ({
      document_id: documentId ?? randomUUID(),
      '@timestamp': new Date(now).toISOString(),
      delivery_timestamp: new Date(now + spec.timeout * 1000).toISOString(),
      agent: { id: agentId, groups },
      command: {
        source: spec.source,
        ...(spec.user !== undefined ? { user: spec.user } : {}),
        target: spec.target,
        action: spec.action,
        timeout: spec.timeout,
        request_id: spec.request_id ?? requestId,
        order_id: spec.order_id ?? randomUUID(),
      },
      route,
      seq: nextSeq(),
    });
    switch (spec.target.type) {
      case 'agent':
        docs.push(base(spec.target.id, groupsOf.get(spec.target.id)!, agentRoute(spec.target.id), spec.document_id));
        break;
      case 'server':
        docs.push(base(null, [], serverRoute(spec.target.id), spec.document_id));
        break;
      case 'group':
        // Each member gets a document of its own (a `document_id` on a group spec cannot be shared).
        for (const agent of members.get(spec.target.id)!) docs.push(base(agent.id, agent.groups, agentRoute(agent.id)));
        break;
    }
  }
  return docsPerSpec;
}
