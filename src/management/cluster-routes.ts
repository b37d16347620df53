import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { Type, type Static } from 'typebox';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import type { HttpApp } from '../http/app.js';
import { errorResponses, IsoTime } from '../http/schemas.js';
import type { Supervisor } from '../runtime/supervisor.js';
import { createdState, TARGET_TYPES, type CommandState } from '../domain/command.js';
import { MAX_NOTICE_COMMANDS, NOTICE_PATH } from '../cluster/change-notices.js';

const Text = Type.String({ maxLength: 1024 });
/** A command document as the announcing node created it (`CommandDocument`). */
const CreatedDocument = Type.Object(
  {
    document_id: Type.String({ minLength: 1, maxLength: 512 }),
    '@timestamp': IsoTime,
    delivery_timestamp: IsoTime,
    agent: Type.Object({ id: Type.Union([Text, Type.Null()]), groups: Type.Array(Text) }, { additionalProperties: false }),
    command: Type.Object(
      {
        source: Text,
        user: Type.Optional(Text),
        target: Type.Object({ type: Type.Enum(TARGET_TYPES), id: Text }, { additionalProperties: false }),
        action: Type.Object({ name: Text, args: Type.Record(Type.String(), Type.Unknown()), version: Text }, { additionalProperties: false }),
        timeout: Type.Integer({ minimum: 0 }),
        request_id: Text,
        order_id: Text,
      },
      { additionalProperties: false },
    ),
    route: Type.String({ minLength: 1, maxLength: 512, description: 'agent:<id> or server:<module>' }),
    seq: Type.Integer(),
    owner: Type.Optional(Text),
  },
  { additionalProperties: false },
);
const Notice = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 256, description: 'The node that created the commands' }),
    commands: Type.Array(
      Type.Object(
        {
          version: Type.String({ pattern: '^[0-9]+:[0-9]+$', description: 'Where the document was stored: primary term and _seq_no' }),
          document: CreatedDocument,
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_NOTICE_COMMANDS },
    ),
  },
  { additionalProperties: false },
);
const NoticeAnswer = Type.Object({
  served: Type.Integer({ description: 'How many of the commands are for routes served here: taken, unless this node held them already' }),
  not_served: Type.Array(Type.String(), { description: 'The routes of the notice this node does not serve (its agent is connected elsewhere, or nowhere)' }),
});

export interface ClusterRouteDeps {
  supervisor: Supervisor;
  /** This node's secret (on its card in the cluster): what another node presents. */
  secret: string;
  /** The connection is a peer's, not an unauthenticated one (see `UnauthenticatedConnections`). */
  authenticated: (socket: Socket) => void;
  logger: Logger;
}

/**
 * The receiving end of the change feed (see `ChangeNotices`): another node of the cluster says it
 * created these commands, for routes connected here. The notice is taken as the cluster's word
 * (only a reader of the cluster knows this node's secret): its commands are taken as created, at
 * the version given, without reading them back; the first change this node writes is conditional
 * on that version, so a command that has moved on since (cancelled, claimed elsewhere) is read
 * again then, as for any stale view.
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
      const { supervisor } = deps;
      const states: CommandState[] = [];
      const notServed = new Set<string>();
      for (const { version, document } of request.body.commands) {
        if (supervisor.serves(document.route)) states.push(createdState(document, version));
        else notServed.add(document.route);
      }
      if (states.length > 0) supervisor.announced(states);
      return { served: states.length, not_served: [...notServed] };
    },
  );
}
