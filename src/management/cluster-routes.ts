import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { MAX_NOTICE_COMMANDS, NOTICE_PATH } from '../cluster/change-notices.js';
import { CourierError, errors } from '../errors.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses } from '../http/schemas.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { CommandStore } from '../store/store.js';

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
  served: Type.Integer({ description: 'How many of the commands are for routes served here: read from the cluster and taken, unless held already' }),
  not_served: Type.Array(Type.String(), { description: 'The routes of the notice this node does not serve (its agent is connected elsewhere, or nowhere)' }),
});

export interface ClusterRouteDeps {
  supervisor: Supervisor;
  store: CommandStore;
  /** This node's secret (on its card in the cluster): what another node presents. */
  secret: string;
  /** The connection is a peer's, not an unauthenticated one (see `UnauthenticatedConnections`). */
  authenticated: (socket: Socket) => void;
  /** Records a refusal in the audit trail and throws it (see `Access.refuse`). */
  refuse: (request: FastifyRequest, error: CourierError) => Promise<never>;
}

/**
 * The receiving end of the change feed (see `ChangeNotices`): another node of the cluster says it
 * created these commands, for routes connected here. The secret is checked before the body is
 * read. Nothing in the notice is trusted but the ids: the commands are read from the cluster
 * (realtime, by id) and those of routes served here are taken, unless this node holds them already.
 * So a reader of the cluster who learns the secret can make a node read commands, never make it
 * deliver something the cluster does not hold.
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
      onRequest: async (request) => {
        const presented = Buffer.from(request.headers.authorization ?? '');
        if (presented.length !== secret.length || !timingSafeEqual(presented, secret)) await deps.refuse(request, errors.NOT_A_PEER());
        deps.authenticated(request.raw.socket);
      },
    },
    async (request): Promise<Static<typeof NoticeAnswer>> => {
      const { supervisor, store } = deps;
      const served: string[] = [];
      const notServed = new Set<string>();
      for (const { document_id, route } of request.body.commands) {
        if (supervisor.serves(route)) served.push(document_id);
        else notServed.add(route);
      }
      if (served.length > 0 && store.getCommands) {
        const states = (await store.getCommands(served)).filter((state) => supervisor.serves(state.doc.route));
        if (states.length > 0) supervisor.announced(states);
      }
      return { served: served.length, not_served: [...notServed] };
    },
  );
}
