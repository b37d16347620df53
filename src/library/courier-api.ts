import type { FastifyPluginAsync, FastifyPluginCallback } from 'fastify';
import type { Logger } from 'pino';
import type { Config, ConfigInput } from '../config.js';
import type { CommandStatus, CommandView, TargetType } from '../domain/command.js';
import type { AuditEntry, AuditFilter } from '../store/operator-store.js';

// The public API of courier as a library (`import { createCourier } from 'courier'`): the types a
// program embedding it sees. Kept apart from their implementation, and importing only types, so
// that the declarations a consumer compiles against stay this small.

/** Options of the runtime, typed as in `Config` (durations in ms); every option not given takes its default. */
export type CourierConfig = ConfigInput;

export type { Config, CommandStatus, CommandView };

/** What `createCourier` takes besides the options. */
export interface CourierOptions {
  /** Where courier logs (default: as `courier serve` does: `logLevel`, and `logFormat` — readable lines on a terminal, JSON lines otherwise). */
  logger?: Logger;
}

/** One command as a producer asks for it: an item of the body of `POST /api/v1/commands`. */
export interface CommandInput {
  source: string;
  user?: string;
  target: { type: TargetType; id: string };
  action: { name: string; args?: Record<string, unknown>; version?: string };
  /** Seconds within which it must be delivered (1 s to 30 days). */
  timeout: number;
  /** Set only to adopt a command made elsewhere under its own id. */
  document_id?: string;
  request_id?: string;
  order_id?: string;
}

export interface SubmitOptions {
  /** Who asks, recorded with every transition the commands take (e.g. `component:rbac`, `user:alice`). */
  who: string;
  /** A retry under the same key names the same commands, and creates none twice. */
  idempotencyKey?: string;
}

/** One transition of a command's audit trail. */
export interface HistoryEntry {
  from: CommandStatus | null;
  to: CommandStatus;
  cause: string;
  /** ISO time */
  at: string;
  node: string;
  actor: string;
}

/** What producers do: the admin socket's command routes, in process. */
export interface CommandsApi {
  /** Creates commands (group targets expand to one per member); resolves once they are durable. */
  submit(commands: CommandInput[], options: SubmitOptions): Promise<CommandView[]>;
  /** The command as it stands now, or null when there is none by that id. */
  get(documentId: string): Promise<CommandView | null>;
  /** Every transition of the command, in order, or null when there is none by that id. */
  history(documentId: string): Promise<HistoryEntry[] | null>;
  /** Cancels a command not yet delivered (a coded error otherwise). */
  cancel(documentId: string, options?: { who?: string }): Promise<CommandView>;
}

/** A server component's target, as commands name it (`{ type: 'server', id: 'rbac' }`). */
export interface ServerTarget {
  type: 'server';
  id: string;
}

/** What running a command came to: `code` 0 is success, any other failure. */
export interface CommandOutcome {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * Runs one command of the component. Returning nothing is success; throwing is failure (its
 * message the result's). Commands come one at a time, in the order they were created.
 */
export type CommandHandler = (command: CommandView) => CommandOutcome | void | Promise<CommandOutcome | void>;

export interface SubscribeOptions {
  /** Most commands held for it at once, beyond the one it runs (default 16); the rest wait for it, or go to the target's other subscribers. */
  maxInFlight?: number;
}

/** An in-process subscription of a server target. */
export interface ComponentSubscription {
  readonly target: ServerTarget;
  /** Ended: it is handed nothing more. */
  readonly closed: boolean;
  /** Ends it: what it was handed and has not started goes back to pending; resolves once the command it runs has reported. */
  close(): Promise<void>;
}

/** An entry of the audit trail as the live feed hands it on (`at` an ISO time). */
export type CourierEvent = AuditEntry extends infer Entry ? (Entry extends AuditEntry ? Omit<Entry, 'at'> & { at: string } : never) : never;

/** Which entries of the trail a listener is handed (times in ms). */
export type EventFilter = Omit<AuditFilter, 'scope'>;

export interface ListenOptions {
  filter?: EventFilter;
  /** Resume after this audit id (an event's `id`); default: from now. */
  after?: string;
}

/** The live feed of transitions (the admin socket's `/api/v1/events/stream`, in process). */
export interface EventsApi {
  /**
   * Hands `listener` every entry of the audit trail written from now on (or after `options.after`),
   * in order, read from the durable trail; returns the function that stops it.
   */
  listen(listener: (event: CourierEvent) => unknown, options?: ListenOptions): () => void;
}

/** A component's routes: an ordinary (async) fastify plugin; `register` takes a callback-style one too. */
export type AdminPlugin = FastifyPluginAsync;

/** The admin Unix socket, where components add routes of their own. */
export interface AdminApi {
  /** Path of the socket (mode 0660). */
  readonly socket: string;
  /**
   * Serves `plugin`'s routes under `prefix` on the socket, with the socket's error format, body
   * limit and the runtime as `courier` on the instance and each request. A prefix over one of
   * courier's own routes, or another component's, is refused.
   */
  register(plugin: AdminPlugin | FastifyPluginCallback, options: { prefix: string }): Promise<void>;
  /** The prefixes registered, in order. */
  readonly prefixes: readonly string[];
}

/** A running courier: the same runtime `courier serve` runs. */
export interface Courier {
  /** The options it runs with, defaults filled in. */
  readonly config: Config;
  readonly commands: CommandsApi;
  /**
   * Takes the commands of a server target in this process, with the lifecycle of a remote
   * subscriber's: each is claimed for one subscriber of the target only, delivered when the handler
   * takes it, and ends with the handler's result.
   */
  subscribe(target: ServerTarget, handler: CommandHandler, options?: SubscribeOptions): ComponentSubscription;
  readonly events: EventsApi;
  readonly admin: AdminApi;
  /** Base URL of the agents API. */
  readonly url: string;
  /** Base URL of the management API. */
  readonly managementUrl: string;
  /** How clients verify the TCP listeners (absent with `insecureHttp`). */
  readonly tls?: { readonly caFingerprint: string; readonly caFile?: string };
  /** With `inspect` on: the Stately inspector relay (`url` carries its token). */
  readonly inspector?: { readonly url: string; readonly webSocketUrl: string; readonly port: number; readonly token: string };
  /** Reads the TLS certificate files again; open connections keep theirs. */
  reloadTls(): Promise<void>;
  /** Reads the token key set file again: its first key signs from now on. */
  reloadTokenKeys(): Promise<void>;
  /** Stops taking work, writes everything out, closes every listener and file: nothing is left holding the process. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** On an app of a component's routes (see `Courier.admin.register`): the runtime. */
    courier: Courier;
  }
  interface FastifyRequest {
    /** On a request to a component's routes: the runtime. */
    courier: Courier;
  }
}
