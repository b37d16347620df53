import type { Logger } from 'pino';
import type { ApiKeys } from '../auth/api-keys.js';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import { UNRESTRICTED } from '../domain/scope.js';
import { errors } from '../errors.js';
import { registerEventStream } from '../operator-routes/event-stream.js';
import { listCommands, registerQueryRoutes } from '../operator-routes/query-routes.js';
import { AgentPage, CommandListQuery, CommandPage, toPage } from '../operator-routes/schemas.js';
import { AgentListQuery, toAgentListFilter } from '../operator-routes/agent-list-schemas.js';
import { listAgentsWithConnection, type AgentListDeps } from '../operator-routes/agent-list.js';
import { Type } from 'typebox';
import type { OperatorStore } from '../store/operator-store.js';
import { serverRoute } from '../domain/command.js';
import { assertResultsWithinLimits } from '../domain/json-limits.js';
import type { Metrics } from '../metrics.js';
import type { AgentRegistry } from '../auth/agent-registry.js';
import type { Supervisor } from '../runtime/supervisor.js';
import { registerAgentAdminRoutes } from './agent-admin-routes.js';
import { createHttpApp, routesOf } from '../http/app.js';
import { ComponentRoutes } from './component-routes.js';
import { registerCommandRoutes } from '../operator-routes/command-routes.js';
import { registerJobRoutes } from '../operator-routes/job-routes.js';
import type { Jobs } from '../jobs/jobs.js';
import type { Clock } from '../runtime/clock.js';
import { registerEnrollmentTokenRoutes } from '../operator-routes/enrollment-token-routes.js';
import { registerKeyRoutes } from '../operator-routes/key-routes.js';
import { holdLongPoll, parseAck } from '../http/long-poll.js';
import { registerOperationalRoutes, type Health } from '../http/operational-routes.js';
import { CommandsBody, ErrorBody, errorResponses, LongPollQuery, NoQuery, ResultOutcomesBody, ResultsBody } from '../http/schemas.js';

export interface AdminApiDeps extends Pick<AgentListDeps, 'node' | 'connectedElsewhere'> {
  logger: Logger;
  bodyLimit: number;
  requestTimeoutMs: number;
  longPollTimeoutMs: number;
  supervisor: Supervisor;
  jobs: Jobs;
  clock: Clock;
  agents: AgentRegistry;
  keys: ApiKeys;
  enrollmentTokens: EnrollmentTokens;
  operators: OperatorStore;
  metrics: Metrics;
  health: () => Health;
}

/**
 * The admin plane, served on the local Unix socket (mode 0660): producers create and follow
 * commands, server components (e.g. `rbac`) long-poll theirs and report results, agents,
 * operator keys and agent enrollment tokens are managed. Being local and file-permission guarded, it needs no key.
 * Components add routes of their own to it under their prefixes (`components`).
 */
export async function createAdminApi(deps: AdminApiDeps) {
  const { supervisor } = deps;
  // Components' own routes (see component-routes.ts): given the requests under their prefixes first.
  const components = new ComponentRoutes({ ...deps, builtIns: () => routesOf(app) });
  const app = await createHttpApp({
    logger: deps.logger,
    bodyLimit: deps.bodyLimit,
    requestTimeoutMs: deps.requestTimeoutMs,
    openapi: { title: 'courier admin socket', description: 'The local admin plane on the Unix socket (no key: guarded by the socket file mode 0660).' },
    dispatch: components.dispatch,
  });
  registerCommandRoutes(app, supervisor);
  registerJobRoutes(app, deps.jobs, deps.clock);
  registerAgentAdminRoutes(app, deps.agents, deps.node);
  registerKeyRoutes(app, deps.keys);
  registerEnrollmentTokenRoutes(app, deps.enrollmentTokens);
  registerOperationalRoutes(app, deps.health, deps.metrics.registry);
  // The operators' read routes too (list, fan-out summaries, audit, live stream), unrestricted here.
  registerQueryRoutes(app, deps.operators, () => UNRESTRICTED, { listRoute: false });
  registerEventStream(app, supervisor, deps.operators, () => UNRESTRICTED);
  app.get(
    '/api/v1/agents',
    {
      schema: {
        tags: ['agents'],
        summary: 'Agents with their connection state and last seen (filters: group, connection, id or name prefix; cursor pagination)',
        querystring: AgentListQuery,
        response: { 200: AgentPage, ...errorResponses },
      },
    },
    async (request) => listAgentsWithConnection({ ...deps, operators: deps.operators }, toPage(request.query), UNRESTRICTED, toAgentListFilter(request.query)),
  );

  app.get(
    '/api/v1/commands',
    {
      schema: {
        tags: ['components', 'commands'],
        summary:
          "With exactly `target_type=server&target_id=<module>`: that server component's long-poll (Wazuh's route; 200 {commands} or 408). " +
          'With any other query (e.g. add `limit`): the list of commands, newest first.',
        querystring: ComponentPollOrListQuery,
        response: { 200: Type.Union([CommandsBody, CommandPage]), 408: ErrorBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { target_type: type, target_id: module, ack } = request.query;
      const pollKeys = ack === undefined ? 2 : 3;
      if (type === 'server' && module && Object.keys(request.query).length === pollKeys) {
        return holdLongPoll(supervisor, reply, serverRoute(module), `component:${module}`, { timeoutMs: deps.longPollTimeoutMs, acked: parseAck(ack) });
      }
      if (ack !== undefined) throw errors.VALIDATION('querystring/ack is only for a server component long-poll (target_type=server&target_id=<module>)');
      return listCommands(deps.operators, request.query, UNRESTRICTED);
    },
  );
  app.post(
    '/api/v1/commands/results',
    {
      schema: {
        tags: ['components'],
        summary: 'Report results (code 0 = success)',
        body: ResultsBody,
        querystring: NoQuery,
        response: { 200: ResultOutcomesBody, ...errorResponses },
      },
    },
    async (request) => {
      assertResultsWithinLimits(request.body.results, (i) => `body.results.${i}`);
      return { results: await supervisor.reportResults(request.body.results, null, 'admin-socket') };
    },
  );
  return { app, components };
}

/** The component long-poll and the command list share Wazuh's route; only the long-poll takes `ack`. */
const ComponentPollOrListQuery = Type.Object({ ...CommandListQuery.properties, ack: LongPollQuery.properties.ack }, { additionalProperties: false });
