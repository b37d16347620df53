import type { AnyActorRef } from 'xstate';
import type { Logger } from 'pino';
import type { InspectObserver } from '../runtime/actor-observers.js';
import { InspectionBridge, type InspectionStats } from './inspection-bridge.js';
import { InspectorRelay } from './relay.js';

export interface InspectorOptions {
  port: number;
  logger: Logger;
  liveActors: () => Iterable<AnyActorRef>;
  /** Where courier's own console is (the relay's page points to it when stately.ai cannot be reached). */
  consoleUrl?: () => string | null;
}

/** The Stately inspector for a courier node: the actors' observer and the relay viewers connect to. */
export interface Inspector {
  /** Give this to the supervisor (`inspect`) before it creates any actor. */
  readonly observer: InspectObserver;
  /** The page to open in a browser (carries the token); valid after `listen`. */
  readonly url: string;
  /** The WebSocket address for programmatic clients; add `?token=`. */
  readonly webSocketUrl: string;
  readonly port: number;
  readonly token: string;
  stats(): InspectionStats;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export function createInspector(options: InspectorOptions): Inspector {
  const bridge = new InspectionBridge({ liveActors: options.liveActors });
  const relay = new InspectorRelay({ port: options.port, bridge, logger: options.logger, ...(options.consoleUrl ? { consoleUrl: options.consoleUrl } : {}) });
  return {
    observer: bridge.observer,
    get url() {
      return relay.url;
    },
    get webSocketUrl() {
      return relay.webSocketUrl;
    },
    get port() {
      return relay.listeningPort;
    },
    token: relay.token,
    stats: () => bridge.stats(),
    listen: () => relay.listen(),
    close: () => relay.close(),
  };
}
