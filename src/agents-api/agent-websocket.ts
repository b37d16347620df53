import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { Compile } from 'typebox/compile';
import { Type } from 'typebox';
import { agentRoute } from '../domain/command.js';
import { assertResultsWithinLimits } from '../domain/json-limits.js';
import { CourierError, errors, toErrorBody } from '../errors.js';
import type { PortSubscription } from '../runtime/supervisor-port.js';
import { authenticatedAgent, type AgentRoutesDeps, type AuthenticatedAgent } from './agent-routes.js';
import { endWithError } from '../http/raw-error.js';
import { MAX_RESULTS_PER_REPORT, ResultFields, ResultSchema } from '../http/schemas.js';
import { WebSocketFlow, type WebSocketLimits } from './websocket-flow.js';

export const WEBSOCKET_PATH = '/api/v1/commands/ws';
/** Close code of a socket whose token expired: the agent authenticates again and reconnects. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Sockets pinged per turn of the event loop, and the pause between two slices (ms). */
const PING_SLICE = 256;
const PING_PAUSE_MS = 10;

/**
 * Frames an agent may send:
 *   {"type":"ack","ids":[document_id…]}             the commands arrived (-> delivered)
 *   {"type":"result","document_id","code","message","data"}
 *   {"type":"results","ack":[document_id…],"results":[{document_id,code,message,data}…]}
 *                                                   acks (optional) then results, in one frame
 * Frames the server sends:
 *   {"type":"commands","commands":[…]}
 *   {"type":"result_ack","document_id","outcome","status","message"}
 *   {"type":"results_ack","results":[{document_id,outcome,status,message}…]}
 *   {"type":"error","code","message"}
 */
const AckIds = (minItems: number) => Type.Array(Type.String({ minLength: 1 }), { minItems, maxItems: 10_000 });
const ClientFrame = Compile(
  Type.Union([
    Type.Object({ type: Type.Literal('ack'), ids: AckIds(1) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('result'), ...ResultFields }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Literal('results'), ack: Type.Optional(AckIds(0)), results: Type.Array(ResultSchema, { minItems: 1, maxItems: MAX_RESULTS_PER_REPORT }) },
      { additionalProperties: false },
    ),
  ]),
);

interface AgentSocket extends WebSocket {
  isAlive?: boolean;
}

export interface AgentWebSocketOptions extends Pick<AgentRoutesDeps, 'supervisor' | 'agents' | 'tokens' | 'authenticated' | 'mutualTls'> {
  logger: Logger;
  maxPayload: number;
  pingIntervalMs: number;
  /** What one socket may hold (see WebSocketFlow). */
  limits: WebSocketLimits;
  /** An upgrade was refused (bad token, unknown agent…), for the refusal counter and the log. */
  onRefused?: (error: CourierError, request: IncomingMessage) => void;
  /** This node's name, in the log lines of connections. */
  node: string;
}

/**
 * The agents' WebSocket: authenticated on the upgrade request (`Authorization: Bearer`),
 * then one subscription per socket. Pushed commands count as delivered when the agent acks
 * them; those not acked when the socket closes go back to pending. What a socket holds is bounded
 * (WebSocketFlow): past the bound commands wait, and a socket stuck at it is closed. A keepalive
 * ping each interval ends sockets that stopped answering.
 */
export class AgentWebSocket {
  private readonly wss: WebSocketServer;
  private readonly keepalive: NodeJS.Timeout;
  private accepting = true;

  constructor(private readonly options: AgentWebSocketOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
    this.keepalive = setInterval(() => this.ping(), options.pingIntervalMs);
    this.keepalive.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head);
    });
  }

  /** Shutdown begins: upgrades are refused from now on; open sockets stay until the drain ends them. */
  stopAccepting(): void {
    this.accepting = false;
  }

  close(): void {
    this.accepting = false;
    clearInterval(this.keepalive);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const path = (request.url ?? '').split('?')[0];
    if (path !== WEBSOCKET_PATH) return endWithError(socket, errors.NOT_FOUND_ROUTE('GET', path ?? ''));
    if (!this.accepting) return endWithError(socket, errors.SHUTTING_DOWN());
    let caller: AuthenticatedAgent;
    try {
      caller = await authenticatedAgent(this.options, request.headers.authorization, request.socket);
    } catch (error) {
      const refusal = error instanceof CourierError ? error : errors.INVALID_TOKEN.causedBy(error);
      this.options.onRefused?.(refusal, request);
      return endWithError(socket, refusal);
    }
    this.options.authenticated?.(socket as Socket);
    if (socket.destroyed) return;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.serve(ws, caller, request.socket.remoteAddress ?? ''));
  }

  private serve(ws: AgentSocket, { agentId, expiresAt }: AuthenticatedAgent, address: string): void {
    const { supervisor, logger, tokens, node } = this.options;
    const who = `agent:${agentId}`;
    const route = agentRoute(agentId);
    ws.isAlive = true;
    ws.on('pong', () => (ws.isAlive = true));
    let sub: PortSubscription | undefined;
    const flow = new WebSocketFlow(ws, this.options.limits, {
      inFlight: () => sub?.inFlightCount ?? 0,
      resumed: () => sub && supervisor.wake(sub),
      congested: (over) => sub && supervisor.congested(sub, over),
      refreshInFlight: async () => {
        if (sub) await supervisor.refreshInFlight(sub);
      },
      // What it held unacked goes back to pending on close, for the agent's other connections.
      stalled: () => {
        logger.warn({ agentId, bufferedBytes: ws.bufferedAmount, inFlight: sub?.inFlightCount }, 'agent websocket stalled at its bound: closed');
        ws.terminate();
      },
    });
    try {
      sub = supervisor.subscribe(route, 'websocket', who, {
        push: (commands) => flow.send({ type: 'commands', commands }),
        room: (inFlight) => flow.room(inFlight),
        maxInFlight: this.options.limits.maxInFlight,
        hold: () => flow.hold(),
        drain: () => ws.close(1001, 'server shutting down'),
        // The agent was removed: its token no longer holds, so neither does this socket.
        revoked: () => {
          flow.send({ type: 'error', ...toErrorBody(errors.INVALID_TOKEN()) });
          ws.close(1008, 'agent removed');
        },
      });
    } catch (error) {
      const e = error instanceof CourierError ? error : errors.INTERNAL.causedBy(error);
      flow.send({ type: 'error', ...toErrorBody(e) });
      ws.close(1013, e.message.slice(0, 120));
      return;
    }
    const subscription = sub;
    const connection = { agentId, transport: 'websocket', node, address };
    const openedAt = performance.now();
    logger.info(connection, 'agent connected');
    // A socket must not outlive the token it was opened with: at its expiry it ends, with a close
    // code of its own, and what it held unacked goes back to pending for the agent's next connection.
    const expiry = setTimeout(
      () => {
        supervisor.unsubscribe(subscription);
        flow.send({ type: 'error', ...toErrorBody(errors.EXPIRED_TOKEN()) });
        ws.close(CLOSE_TOKEN_EXPIRED, 'token expired');
      },
      Math.max(0, tokens.remainingMs({ expiresAt })),
    );
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(expiry);
      flow.stop();
      supervisor.unsubscribe(subscription);
      // The close frame's code and reason (1006 and none: the connection was lost or cut).
      logger.info({ ...connection, code, reason: reason.toString(), connectedMs: Math.round(performance.now() - openedAt) }, 'agent disconnected');
    });
    ws.on('error', (err) => logger.debug({ err, agentId }, 'agent websocket error'));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void this.onFrame(flow, subscription, agentId, data, isBinary).catch((error: unknown) => {
        const e = error instanceof CourierError ? error : errors.INTERNAL.causedBy(error);
        if (!(error instanceof CourierError)) logger.error({ err: error, agentId }, 'websocket frame failed');
        flow.send({ type: 'error', ...toErrorBody(e) });
      });
    });
  }

  private async onFrame(flow: WebSocketFlow, sub: PortSubscription, agentId: string, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) throw errors.VALIDATION('Binary frames are not accepted; send JSON text');
    let frame: unknown;
    try {
      // A text message, its fragments joined, arrives as one Buffer (binaryType stays 'nodebuffer').
      frame = JSON.parse((data as Buffer).toString());
    } catch (error) {
      throw errors.MALFORMED_JSON.causedBy(error, (error as Error).message);
    }
    if (!ClientFrame.Check(frame)) {
      throw errors.VALIDATION('Expected {"type":"ack","ids":[…]}, {"type":"result","document_id","code","message"} or {"type":"results","ack":[…],"results":[…]}');
    }
    const { supervisor } = this.options;
    if (!supervisor.running) throw errors.SHUTTING_DOWN();
    if (frame.type === 'ack') {
      await supervisor.acknowledge(sub, frame.ids);
      flow.settled();
      return;
    }
    // Everything in the frame is checked before anything of it is taken: a bad frame changes nothing.
    const reports =
      frame.type === 'result'
        ? [{ document_id: frame.document_id, code: frame.code, message: frame.message, ...(frame.data !== undefined ? { data: frame.data } : {}) }]
        : frame.results;
    assertResultsWithinLimits(reports, frame.type === 'result' ? () => 'result' : (i) => `results.${i}`);
    const acked = frame.type === 'results' ? (frame.ack ?? []) : [];
    // The acks and the results in one event: delivered first, then the results.
    const outcomes = await supervisor.reportResults(reports, agentRoute(agentId), `agent:${agentId}`, { subscription: sub, acked });
    // A result also takes its command off the socket, acked or not.
    flow.settled();
    if (frame.type === 'result') flow.send({ type: 'result_ack', ...outcomes[0] });
    else flow.send({ type: 'results_ack', results: outcomes });
  }

  /**
   * One keepalive round, a slice of sockets at a time: pinging 10,000 sockets in one go blocked the
   * event loop for ~200 ms (measured), which every command dispatched meanwhile waited for.
   */
  private ping(): void {
    const clients = [...this.wss.clients] as AgentSocket[];
    const slice = (from: number): void => {
      for (const client of clients.slice(from, from + PING_SLICE)) {
        if (client.readyState !== client.OPEN) continue;
        if (client.isAlive === false) {
          client.terminate();
          continue;
        }
        client.isAlive = false;
        client.ping();
      }
      // A pause between slices also spreads the pongs that come back.
      if (from + PING_SLICE < clients.length) setTimeout(slice, PING_PAUSE_MS, from + PING_SLICE).unref();
    };
    slice(0);
  }
}
