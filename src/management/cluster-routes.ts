import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { Type, type Static } from 'typebox';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses } from '../http/schemas.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { CommandStore } from '../store/store.js';
import { MAX_NOTICE_COMMANDS, NOTICE_PATH } from '../cluster/change-notices.js';

const Notice = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 256, description: 'The node that created the commands' }),
    commands: Type.Array(
      Type.Object(
        {
          document_id: Type.String({ minLength: 1, maxLength: 512 }),
          route: Type.String({ minLength: 1, maxLength: 512, description: 'agent:<id> or server:<module>' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_NOTICE_COMMANDS },
    ),
  },
  { additionalProperties: false },
);
const NoticeAnswer = Type.Object({
  held: Type.Integer({ description: 'How many of the commands this node read from the cluster and holds now' }),
  not_served: Type.Array(Type.String(), { description: 'The routes of the notice this node does not serve (its agent is connected elsewhere, or nowhere)' }),
});

export interface ClusterRouteDeps {
  supervisor: Supervisor;
  store: CommandStore;
  /** This node's secret (on its card in the cluster): what another node presents. */
  secret: string;
  /** The connection is a peer's, not an unauthenticated one (see `UnauthenticatedConnections`). */
  authenticated: (socket: Socket) => void;
  logger: Logger;
}

/**
 * The receiving end of the change feed (see `ChangeNotices`): another node of the cluster says it
 * created these commands for routes connected here. Nothing in the notice is trusted but the ids:
 * the commands are read from the cluster, and only those of routes served here are taken.
 */
export function registerClusterRoutes(app: HttpApp, deps: ClusterRouteDeps): void {
  const secret = Buffer.from(`Bearer ${deps.secret}`);
  app.post(
    NOTICE_PATH,
    {
      schema: {
        tags: ['cluster'],
        summary: "Another node of the cluster created commands for agents connected here (its Bearer is this node's secret)",
        body: Notice,
        response: { 200: NoticeAnswer, ...errorResponses },
      },
      config: { public: true },
    },
    async (request): Promise<Static<typeof NoticeAnswer>> => {
      const presented = Buffer.from(request.headers.authorization ?? '');
      if (presented.length !== secret.length || !timingSafeEqual(presented, secret)) throw errors.NOT_A_PEER();
      deps.authenticated(request.raw.socket);
      const { supervisor, store } = deps;
      const served: string[] = [];
      const notServed = new Set<string>();
      for (const { document_id, route } of request.body.commands) {
        if (supervisor.serves(route)) served.push(document_id);
        else notServed.add(route);
      }
      if (served.length > 0 && store.getCommands) {
        const states = (await store.getCommands(served)).filter((state) => supervisor.serves(state.doc.route));
        if (states.length > 0) supervisor.observe(states);
        deps.logger.debug({ from: request.body.from, held: states.length }, 'commands announced by another node taken');
        return { held: states.length, not_served: [...notServed] };
      }
      return { held: 0, not_served: [...notServed] };
    },
  );
}
