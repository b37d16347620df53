import type { FastifyRequest } from 'fastify';
import { agentRoute } from '../domain/command.js';
import { errors } from '../errors.js';
import type { AgentTokens } from '../auth/agent-tokens.js';
import type { AgentRegistry } from '../runtime/agent-registry.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { HttpApp } from './app.js';
import { holdLongPoll } from './long-poll.js';
import { parseStatefulEvents } from './stateful-events.js';
import { AuthenticationBody, ResultsBody } from './schemas.js';

export interface AgentRoutesDeps {
  supervisor: Supervisor;
  agents: AgentRegistry;
  tokens: AgentTokens;
  longPollTimeoutMs: number;
}

/** The agent id behind a request's bearer token; the agent must still be registered. */
export async function authenticatedAgent(deps: Pick<AgentRoutesDeps, 'tokens' | 'agents'>, authorization: string | undefined): Promise<string> {
  const agentId = await deps.tokens.verifyHeader(authorization);
  if (!(await deps.agents.exists(agentId))) throw errors.INVALID_TOKEN();
  return agentId;
}

/**
 * The agents' API (Wazuh Communications API compatible): authentication, the long-poll for
 * commands, and result reports (JSON, or the Wazuh agent's NDJSON stateful events).
 * An agent is known only by its token; it can read and report only its own commands.
 */
export function registerAgentRoutes(app: HttpApp, deps: AgentRoutesDeps): void {
  const { supervisor, agents, tokens } = deps;
  const agentOf = (request: FastifyRequest) => authenticatedAgent(deps, request.headers.authorization);

  app.post('/api/v1/authentication', { schema: { body: AuthenticationBody } }, async (request) => {
    await agents.authenticate(request.body.uuid, request.body.key);
    return { token: await tokens.issue(request.body.uuid) };
  });

  app.get('/api/v1/commands', async (request, reply) => {
    const agentId = await agentOf(request);
    return holdLongPoll(supervisor, reply, agentRoute(agentId), `agent:${agentId}`, deps.longPollTimeoutMs);
  });

  app.post('/api/v1/commands/results', { schema: { body: ResultsBody } }, async (request) => {
    const agentId = await agentOf(request);
    const results = await supervisor.reportResults(request.body.results, agentRoute(agentId), `agent:${agentId}`);
    return { results };
  });

  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.post('/api/v1/events/stateful', async (request) => {
    const agentId = await agentOf(request);
    const reports = parseStatefulEvents(request.body);
    const outcomes = await supervisor.reportResults(reports, agentRoute(agentId), `agent:${agentId}`);
    return {
      // Wazuh's shape; `noop` says the result was ignored (the command already had one, or had ended).
      results: outcomes.map((o) => ({
        index: 'wazuh-commands',
        id: o.document_id,
        result: o.outcome === 'recorded' ? 'updated' : 'noop',
        status: 200,
      })),
    };
  });
}
