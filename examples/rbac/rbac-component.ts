import type { FastifyPluginAsync } from 'fastify';
import type { CommandOutcome, CommandView } from 'courier';

// An example component in the manner of Wazuh's RBAC cache: it takes its `server:rbac` commands in
// the process that runs courier, and adds routes of its own to courier's admin socket. The same
// module serves both ways of running it: registered by a program that embeds courier
// (`courier.admin.register(plugin, { prefix })`, see embedded.ts), or loaded by the command line
// (`courier serve --plugin <this module, compiled>`).

/** Where its routes are on the admin socket. */
export const prefix = '/api/v1/rbac';

/** What the cache holds: the policies' version, bumped by each `refresh` it runs. */
interface RbacCache {
  version: number;
  refreshedAt: string | null;
  /** The document_id of the last command it ran. */
  lastCommand: string | null;
}

export const plugin: FastifyPluginAsync = async (app) => {
  const cache: RbacCache = { version: 0, refreshedAt: null, lastCommand: null };
  const run = async (command: CommandView): Promise<CommandOutcome> => {
    if (command.action.name !== 'refresh') return { code: 2, message: `the rbac component does not know the action ${command.action.name}` };
    cache.version += 1;
    cache.refreshedAt = new Date().toISOString();
    cache.lastCommand = command.document_id;
    return { code: 0, message: `policies reloaded (version ${cache.version})`, data: { version: cache.version } };
  };
  // Its commands, in this process: each claimed for one subscriber of server:rbac only, and ended by the result returned.
  const subscription = app.courier.subscribe({ type: 'server', id: 'rbac' }, run);
  app.addHook('onClose', () => subscription.close());

  app.get('/status', async () => ({
    version: cache.version,
    refreshed_at: cache.refreshedAt,
    last_command: cache.lastCommand,
    subscribed: !subscription.closed,
  }));

  // Asks for a refresh through courier, as any producer does: the command is durable and audited, and comes back to the subscription above.
  app.post<{ Body: { reason: string } }>(
    '/refresh',
    {
      schema: {
        body: { type: 'object', properties: { reason: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['reason'], additionalProperties: false },
      },
    },
    async (request, reply) => {
      const [command] = await request.courier.commands.submit(
        [{ source: 'Users/Services', user: request.body.reason, target: { type: 'server', id: 'rbac' }, action: { name: 'refresh', args: {} }, timeout: 60 }],
        { who: 'component:rbac' },
      );
      return reply.code(202).send({ document_id: command!.document_id });
    },
  );
};
