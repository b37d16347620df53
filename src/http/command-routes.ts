import type { CommandSpec } from '../domain/command.js';
import { commandView } from '../domain/command.js';
import { actionArgsProblem } from '../domain/action-args.js';
import { errors } from '../errors.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { HttpApp } from './app.js';
import { DocumentIdParams, SubmitCommandsBody, type CommandSpecBody } from './schemas.js';

/** Who submitted a command, for the audit trail. */
export function producerOf(spec: Pick<CommandSpec, 'user' | 'source'>): string {
  return spec.user ? `user:${spec.user}` : `source:${spec.source}`;
}

export function toCommandSpecs(bodies: CommandSpecBody[]): CommandSpec[] {
  if (bodies.length === 0) throw errors.NO_COMMANDS();
  return bodies.map((body, i) => {
    const problem = actionArgsProblem({ name: body.action.name, args: body.action.args ?? {} }, `commands.${i}`);
    if (problem) throw errors.VALIDATION(problem);
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

/**
 * The producer's command routes: create (answered once durable), read, history, cancel.
 * Mounted on the admin Unix socket (and on the management API).
 */
export function registerCommandRoutes(app: HttpApp, supervisor: Supervisor, identify: (spec: CommandSpec) => string = producerOf): void {
  app.post('/api/v1/commands', { schema: { body: SubmitCommandsBody } }, async (request, reply) => {
    const specs = toCommandSpecs(request.body.commands);
    const who = identify(specs[0]!);
    const commands = await supervisor.submit(specs, who);
    return reply.code(201).send({ commands });
  });

  app.get('/api/v1/commands/:document_id', { schema: { params: DocumentIdParams } }, async (request) => {
    const state = await supervisor.get(request.params.document_id);
    if (!state) throw errors.COMMAND_NOT_FOUND(request.params.document_id);
    return commandView(state);
  });

  app.get('/api/v1/commands/:document_id/history', { schema: { params: DocumentIdParams } }, async (request) => {
    const events = await supervisor.history(request.params.document_id);
    if (!events) throw errors.COMMAND_NOT_FOUND(request.params.document_id);
    return {
      events: events.map((e) => ({ from: e.from, to: e.to, cause: e.cause, at: new Date(e.at).toISOString(), node: e.node, actor: e.actor })),
    };
  });

  app.post('/api/v1/commands/:document_id/cancel', { schema: { params: DocumentIdParams } }, async (request) => {
    return supervisor.cancel(request.params.document_id, 'operator:local');
  });
}
