import type { FastifyRequest } from 'fastify';
import type { CommandSpec, CommandState } from '../domain/command.js';
import { commandView } from '../domain/command.js';
import { actionArgsProblem } from '../domain/action-args.js';
import { ACTION_ARGS_LIMITS, assertWithinLimits } from '../domain/json-limits.js';
import { errors } from '../errors.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { AuditEvent } from '../store/store.js';
import type { HttpApp } from '../http/app.js';
import { ABRIDGE_ABOVE, createdAnswer } from './created-answer.js';
import { CommandView, errorResponses, NoQuery } from '../http/schemas.js';
import { CreatedCommandsBody, CreatedDocumentsBody, DocumentIdParams, HistoryBody, IdempotencyHeaders, SubmitCommandsBody, type CommandSpecBody } from './command-schemas.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

const tags = ['commands'];

/** Who submitted a command, for the audit trail, when the producer is not otherwise known. */
export function producerOf(spec: Pick<CommandSpec, 'user' | 'source'>): string {
  return spec.user ? `user:${spec.user}` : `source:${spec.source}`;
}

export function toCommandSpecs(bodies: CommandSpecBody[]): CommandSpec[] {
  if (bodies.length === 0) throw errors.NO_COMMANDS();
  return bodies.map((body, i) => {
    const problem = actionArgsProblem({ name: body.action.name, args: body.action.args ?? {} }, `commands.${i}`);
    if (problem) throw errors.VALIDATION(problem);
    assertWithinLimits(body.action.args ?? {}, ACTION_ARGS_LIMITS, `body.commands.${i}.action.args`);
    return {
      source: body.source,
      user: body.user,
      target: body.target,
      action: { name: body.action.name, args: body.action.args ?? {}, version: body.action.version ?? '' },
      timeout: body.timeout,
      document_id: body.document_id,
      request_id: body.request_id,
      order_id: body.order_id,
    };
  });
}

export function historyView(events: AuditEvent[]) {
  return {
    events: events.map((e) => ({
      from: e.from,
      to: e.to,
      cause: e.cause,
      at: new Date(e.at).toISOString(),
      node: e.node,
      actor: e.actor,
    })),
  };
}

/**
 * Who may do what on the command routes. The admin socket trusts its (0660) callers; the
 * management API checks keys, roles and scopes.
 */
export interface CommandPolicy {
  /**
   * Checks and completes a submission; returns the specs to create, who asked (one for all, or per
   * command, for the audit trail) and who owns what it creates (`socket`, `key:<id>`).
   */
  submit(request: FastifyRequest, specs: CommandSpec[]): Promise<{ specs: CommandSpec[]; who: string | ((spec: CommandSpec) => string); owner: string }>;
  /** Checks the caller may see (or cancel) this command; returns who is asking. */
  reach(request: FastifyRequest, documentId: string, state: CommandState | null): Promise<string>;
}

export const trustedPolicy: CommandPolicy = {
  // Socket callers are trusted to say who they are, command by command (a poller may push many producers' commands at once).
  submit: async (_request, specs) => ({ specs, who: producerOf, owner: 'socket' }),
  reach: async () => 'admin-socket',
};

/**
 * The producer's command routes: create (answered once durable), read, history, cancel.
 * Mounted on the admin Unix socket and on the management API.
 */
export function registerCommandRoutes(app: HttpApp, supervisor: Supervisor, policy: CommandPolicy = trustedPolicy): void {
  app.post(
    '/api/v1/commands',
    {
      schema: {
        tags,
        summary: 'Create commands (answered once they are durable); group targets expand to one command per member',
        description:
          'With an `Idempotency-Key` header, a retry of the same request (after a timeout, a 503 or a lost connection) is ' +
          'answered with the commands the first attempt created, and creates none twice; the key stands for that one request. ' +
          `An answer of more than ${ABRIDGE_ABOVE} commands (or several MiB) lists each command's id, agent and status only ('abridged').`,
        headers: IdempotencyHeaders,
        querystring: NoQuery,
        body: SubmitCommandsBody,
        response: { 201: CreatedCommandsBody, ...errorResponses },
      },
      config: { permission: 'commands:send' },
    },
    async (request, reply) => {
      const { specs, who, owner } = await policy.submit(request, toCommandSpecs(request.body.commands));
      const commands = await supervisor.submit(specs, who, { owner, idempotencyKey: request.headers['idempotency-key'] });
      const answer = createdAnswer(commands);
      // A schema serializer of a union checks each item against the branches, with a validator: for
      // 50,000 references that alone held the event loop for a quarter of a second, and for whole
      // documents it was a tenth of what courier allocated per command at saturation (measured). The
      // answer is built here to one branch, so it is serialized by that branch's schema (references
      // as they are). A custom serializer leaves the content type to the route: said here.
      reply
        .type('application/json; charset=utf-8')
        .serializer(answer.abridged ? JSON.stringify : reply.compileSerializationSchema(CreatedDocumentsBody as unknown as Record<string, unknown>));
      return reply.code(201).send(answer);
    },
  );

  const reachable = async (request: FastifyRequest, documentId: string) => {
    const state = await supervisor.get(documentId);
    await policy.reach(request, documentId, state);
    if (!state) throw errors.COMMAND_NOT_FOUND(documentId);
    return state;
  };

  app.get(
    '/api/v1/commands/:document_id',
    {
      schema: { tags, summary: 'A command, its status and result', params: DocumentIdParams, querystring: NoQuery, response: { 200: CommandView, ...errorResponses } },
      config: { permission: 'commands:read' },
    },
    async (request) => commandView(await reachable(request, request.params.document_id)),
  );

  app.get(
    '/api/v1/commands/:document_id/history',
    {
      schema: { tags, summary: 'Every transition of a command, in order', params: DocumentIdParams, querystring: NoQuery, response: { 200: HistoryBody, ...errorResponses } },
      config: { permission: 'commands:read' },
    },
    async (request) => {
      await reachable(request, request.params.document_id);
      const events = await supervisor.history(request.params.document_id);
      if (!events) throw errors.COMMAND_NOT_FOUND(request.params.document_id);
      return historyView(events);
    },
  );

  app.post(
    '/api/v1/commands/:document_id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a command not yet delivered (409 otherwise)',
        params: DocumentIdParams,
        querystring: NoQuery,
        response: { 200: CommandView, ...errorResponses },
      },
      config: { permission: 'commands:cancel' },
    },
    async (request) => {
      const state = await supervisor.get(request.params.document_id);
      const who = await policy.reach(request, request.params.document_id, state);
      return supervisor.cancel(request.params.document_id, who);
    },
  );
}
