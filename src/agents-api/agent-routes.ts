import type { FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientCertificateNames } from '../tls/server-tls.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { agentRoute } from '../domain/command.js';
import { errors } from '../errors.js';
import { assertResultsWithinLimits } from '../domain/json-limits.js';
import type { AgentTokens } from '../auth/agent-tokens.js';
import type { AgentRegistry } from '../auth/agent-registry.js';
import { RefusalReason } from '../auth/refusal-reason.js';
import type { SupervisorPort } from '../runtime/supervisor-port.js';
import type { HttpApp } from '../http/app.js';
import { holdLongPoll, parseAck } from '../http/long-poll.js';
import { parseStatefulEvents } from './stateful-events.js';
import type { LongPollPresence } from './long-poll-presence.js';
import { Type } from 'typebox';
import { CommandsBody, ErrorBody, errorResponses, LongPollQuery, NoQuery, ResultOutcomesBody, ResultsBody } from '../http/schemas.js';
import { AuthenticationBody } from './schemas.js';

/** What the agents API reads and records of agents' registrations. */
export type AgentLookup = Pick<AgentRegistry, 'registration' | 'touch'>;

export interface AgentRoutesDeps {
  supervisor: SupervisorPort;
  agents: AgentLookup;
  tokens: AgentTokens;
  longPollTimeoutMs: number;
  /**
   * Checks an agent's key, failed attempts throttled per address and per agent id (an
   * `AuthenticationGuard`, in the process that holds the registrations); resolves to its registration.
   */
  authenticate(address: string, agentId: string, key: string): Promise<string>;
  /** A request on this connection presented valid credentials (for the cap on unauthenticated connections). */
  authenticated?: (socket: Socket) => void;
  /** Mutual TLS: every connection's client certificate must name the agent that uses it. */
  mutualTls?: boolean;
  /** Logs long-polling agents as they come and go. */
  presence: LongPollPresence;
}

/**
 * With mutual TLS, the connection's client certificate (signed by the client CA, checked in the
 * handshake) must name this agent, by its subject's CN or a SAN: a stolen key or token is useless
 * without the agent's certificate, and an agent cannot act as another.
 */
export function assertCertificateNames(deps: Pick<AgentRoutesDeps, 'mutualTls'>, socket: Socket, agentId: string): void {
  if (!deps.mutualTls) return;
  const names = clientCertificateNames(socket as TLSSocket);
  if (names === null) throw errors.CLIENT_CERTIFICATE_REQUIRED();
  if (!names.includes(agentId)) throw errors.CLIENT_CERTIFICATE_MISMATCH(agentId);
}

/** Who a request's token speaks for, and until when. */
export interface AuthenticatedAgent {
  agentId: string;
  /** ms since the epoch: a long-poll or WebSocket it opened ends then. */
  expiresAt: number;
}

/**
 * The agent behind a request's bearer token. The token must have been issued for the agent's
 * current registration: a removed agent's token, or one from before it was registered again, is refused.
 */
export async function authenticatedAgent(
  deps: Pick<AgentRoutesDeps, 'tokens' | 'agents' | 'mutualTls'>,
  authorization: string | undefined,
  socket: Socket,
): Promise<AuthenticatedAgent> {
  const { agentId, registration, expiresAt } = await deps.tokens.verifyHeader(authorization);
  assertCertificateNames(deps, socket, agentId);
  // The same single read of the agent as before: comparing fingerprints adds one short hash.
  const current = await deps.agents.registration(agentId);
  if (current === null) throw errors.INVALID_TOKEN.causedBy(new RefusalReason('agent not registered (removed)', { agentId }));
  if (current !== registration) throw errors.INVALID_TOKEN.causedBy(new RefusalReason('issued before the agent was registered again', { agentId }));
  deps.agents.touch(agentId, registration);
  return { agentId, expiresAt };
}

/**
 * The agents' API (Wazuh Communications API compatible): authentication, the long-poll for
 * commands, and result reports (JSON, or the Wazuh agent's NDJSON stateful events).
 * An agent is known only by its token; it can read and report only its own commands.
 */
export function registerAgentRoutes(app: HttpApp, deps: AgentRoutesDeps): void {
  const { supervisor, tokens } = deps;

  app.post(
    '/api/v1/authentication',
    {
      schema: {
        tags: ['authentication'],
        summary: 'Exchange the agent id and key for a token (JWT, 900 s); 429 after too many failures',
        body: AuthenticationBody,
        querystring: NoQuery,
        response: { 200: TokenBody, ...errorResponses },
      },
    },
    async (request) => {
      const { uuid, key } = request.body;
      assertCertificateNames(deps, request.raw.socket, uuid);
      const registration = await deps.authenticate(request.ip, uuid, key);
      deps.authenticated?.(request.raw.socket);
      return { token: await tokens.issue(uuid, registration) };
    },
  );

  // Everything else needs a token, checked before the body is even read.
  void app.register(async (instance) => {
    const scope = instance.withTypeProvider<TypeBoxTypeProvider>();
    const callers = new WeakMap<FastifyRequest, AuthenticatedAgent>();
    scope.addHook('onRequest', async (request) => {
      callers.set(request, await authenticatedAgent(deps, request.headers.authorization, request.raw.socket));
      deps.authenticated?.(request.raw.socket);
    });
    const agentOf = (request: FastifyRequest) => callers.get(request)!.agentId;

    const security = [{ bearer: [] }];
    scope.get(
      '/api/v1/commands',
      {
        schema: {
          tags: ['commands'],
          summary:
            "Long-poll for this agent's commands: 200 as soon as there are some, 408 after the timeout, 401 when the token expires first; " +
            '`ack` acknowledges what the agent read of its previous answer',
          security,
          querystring: LongPollQuery,
          response: { 200: CommandsBody, 408: ErrorBody, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { agentId, expiresAt } = callers.get(request)!;
        const ended = deps.presence.opened(agentId, request.ip);
        reply.raw.once('close', ended);
        // Gone while it was being authenticated: its 'close' has been already.
        if (reply.raw.destroyed) ended();
        return holdLongPoll(supervisor, reply, agentRoute(agentId), `agent:${agentId}`, {
          timeoutMs: deps.longPollTimeoutMs,
          expiresInMs: tokens.remainingMs({ expiresAt }),
          acked: parseAck(request.query.ack),
        });
      },
    );

    scope.post(
      '/api/v1/commands/results',
      {
        schema: {
          tags: ['results'],
          summary: 'Report results of own commands (code 0 = success, else failure; one result per command)',
          security,
          querystring: NoQuery,
          body: ResultsBody,
          response: { 200: ResultOutcomesBody, ...errorResponses },
        },
      },
      async (request) => {
        const agentId = agentOf(request);
        assertResultsWithinLimits(request.body.results, (i) => `body.results.${i}`);
        const results = await supervisor.reportResults(request.body.results, agentRoute(agentId), `agent:${agentId}`);
        return { results };
      },
    );

    // The Wazuh agent's NDJSON; this content type, and only this one, is accepted on this route.
    void scope.register(async (ndjson) => {
      ndjson.removeAllContentTypeParsers();
      ndjson.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_request, body, done) => done(null, body));
      ndjson.post(
        '/api/v1/events/stateful',
        {
          schema: {
            tags: ['results'],
            summary: "Report results in the Wazuh agent's NDJSON format (module command, operation update)",
            security,
            consumes: ['application/x-ndjson'],
            querystring: NoQuery,
            body: Type.String({ description: 'NDJSON: agent metadata line, then header/data line pairs' }),
            response: { 200: StatefulResultsBody, ...errorResponses },
          },
          config: { accepts: 'application/x-ndjson' },
        },
        async (request) => {
          const agentId = agentOf(request);
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
        },
      );
    });
  });
}

const TokenBody = Type.Object({ token: Type.String() });
const StatefulResultsBody = Type.Object({
  results: Type.Array(Type.Object({ index: Type.String(), id: Type.String(), result: Type.String(), status: Type.Integer() })),
});
