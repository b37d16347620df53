/**
 * Every error courier reports, as a coded class: `code` is stable and machine-readable,
 * `statusCode` is the HTTP status, `message` says what was wrong in words.
 * HTTP bodies carry exactly `{"message","code"}` (see `toErrorBody`).
 * The codes are the catalogue below, and only it (test/errors.test.ts holds every source file to it).
 */
export class CourierError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** A Wazuh-compatible numeric body code, where the Wazuh wire defines one (e.g. 408). */
  readonly wireCode: number | undefined;
  /** Seconds the client should wait before trying again (`Retry-After`), for a 429. */
  readonly retryAfterS: number | undefined;
  /** What the answer's body says besides `message` and `code` (e.g. which commands an unknown outcome concerns). */
  readonly details: ErrorDetails | undefined;

  constructor(code: string, statusCode: number, message: string, options: CourierErrorOptions = {}) {
    // The standard `cause`: an error caught and reported as this one stays reachable (logs print it).
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CourierError';
    this.code = code;
    this.statusCode = statusCode;
    this.wireCode = options.wireCode;
    this.retryAfterS = options.retryAfterS;
    this.details = options.details;
  }
}

/** The same error, its answer carrying `details` too. */
export function withDetails(error: CourierError, details: ErrorDetails): CourierError {
  return new CourierError(error.code, error.statusCode, error.message, {
    wireCode: error.wireCode,
    retryAfterS: error.retryAfterS,
    cause: error.cause,
    details: { ...error.details, ...details },
  });
}

/** Fields an error's body may carry besides `message` and `code`. */
export interface ErrorDetails {
  /** The request the commands belong to (`GET /api/v1/requests/{request_id}` shows what was stored). */
  request_id?: string;
  /** The commands concerned, in the order of the request (a retry naming them makes none twice). */
  document_ids?: string[];
}

export interface CourierErrorOptions {
  wireCode?: number | undefined;
  retryAfterS?: number | undefined;
  cause?: unknown;
  details?: ErrorDetails | undefined;
}

/** One entry of the catalogue: makes its error. `code` and `statusCode` say what it answers. */
export type ErrorFactory<A extends unknown[]> = ((...args: A) => CourierError) & {
  readonly code: string;
  readonly statusCode: number;
  /** The same error, reporting `cause` (an error caught and answered as this one). */
  causedBy(cause: unknown, ...args: A): CourierError;
};

/** What an entry answers besides its code; `statusCode` only where the status depends on the arguments. */
interface Answer {
  message: string;
  statusCode?: number;
  wireCode?: number;
  retryAfterS?: number;
}

function entry<A extends unknown[]>(code: string, statusCode: number, answer: (...args: A) => Answer): ErrorFactory<A> {
  const make = (cause: unknown, args: A) => {
    const { message, statusCode: status = statusCode, wireCode, retryAfterS } = answer(...args);
    return new CourierError(code, status, message, { wireCode, retryAfterS, cause });
  };
  return Object.assign((...args: A) => make(undefined, args), { code, statusCode, causedBy: (cause: unknown, ...args: A) => make(cause, args) });
}

function define<A extends unknown[]>(code: string, statusCode: number, message: (...args: A) => string): ErrorFactory<A> {
  return entry(code, statusCode, (...args: A) => ({ message: message(...args) }));
}

export const errors = {
  // Input
  MALFORMED_JSON: define('COURIER_ERR_MALFORMED_JSON', 400, (detail: string) => `Malformed JSON body: ${detail}`),
  VALIDATION: define('COURIER_ERR_VALIDATION', 400, (detail: string) => detail),
  BODY_TOO_LARGE: define('COURIER_ERR_BODY_TOO_LARGE', 413, (limit: number) => `Request body is larger than ${limit} bytes`),
  UNSUPPORTED_MEDIA_TYPE: define(
    'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE',
    415,
    (type: string, accepted: string = 'application/json') => `Unsupported content type: ${type} (this route accepts ${accepted})`,
  ),
  UPGRADE_REQUIRED: define('COURIER_ERR_UPGRADE_REQUIRED', 426, () => 'This route speaks WebSocket: send an Upgrade request'),
  /** Any other client error the HTTP framework (or a plugin of it) found, with the status it gave. */
  HTTP_CLIENT_ERROR: entry('COURIER_ERR_HTTP_CLIENT_ERROR', 400, (statusCode: number, detail: string) => ({ message: detail, statusCode })),
  // Connections (answered on the bare socket: Node raised them before a request existed, or at accept)
  BAD_REQUEST: define('COURIER_ERR_BAD_REQUEST', 400, () => 'Malformed HTTP request'),
  HEADERS_TOO_LARGE: define('COURIER_ERR_HEADERS_TOO_LARGE', 431, () => 'Request headers (or the URL) are too large'),
  REQUEST_TIMEOUT: define('COURIER_ERR_REQUEST_TIMEOUT', 408, () => 'The request was not received in time'),
  TOO_MANY_CONNECTIONS: define(
    'COURIER_ERR_TOO_MANY_CONNECTIONS',
    429,
    (limit: number) => `Too many unauthenticated connections from this address (at most ${limit}): authenticate on the open ones, or retry later`,
  ),
  NOT_FOUND_ROUTE: define('COURIER_ERR_ROUTE_NOT_FOUND', 404, (method: string, url: string) => `Route ${method} ${url} not found`),
  NO_COMMANDS: define('COURIER_ERR_NO_COMMANDS', 400, () => 'No commands provided.'),
  UNKNOWN_AGENT: define('COURIER_ERR_UNKNOWN_AGENT', 400, (id: string) => `Unknown agent [${id}] in command.target.id`),
  EMPTY_GROUP: define('COURIER_ERR_EMPTY_GROUP', 400, (group: string) => `Group [${group}] has no agents`),
  TOO_MANY_COMMANDS: define(
    'COURIER_ERR_TOO_MANY_COMMANDS',
    400,
    (max: number) => `This request would create more than ${max} commands (--max-commands-per-request); split it, or roll a larger fan-out out as a job`,
  ),
  IDEMPOTENCY_KEY_REUSED: define(
    'COURIER_ERR_IDEMPOTENCY_KEY_REUSED',
    422,
    (key: string) => `Idempotency-Key [${key}] was used for another request (other targets or actions): use a new key for a new request`,
  ),
  REQUEST_NOT_OWNED: define('COURIER_ERR_REQUEST_NOT_OWNED', 403, (id: string) => `Request [${id}] was created by another producer: choose a new request_id`),
  DOCUMENT_ID_CONFLICT: define('COURIER_ERR_DOCUMENT_ID_CONFLICT', 409, (id: string, why: string) => `document_id [${id}] ${why}`),
  // Commands
  COMMAND_NOT_FOUND: define('COURIER_ERR_COMMAND_NOT_FOUND', 404, (id: string) => `Command [${id}] not found`),
  /** A command time (creation, a deadline) that is not a finite number of ms: it could never come due. */
  INVALID_COMMAND_TIME: define('COURIER_ERR_INVALID_COMMAND_TIME', 500, (id: string, what: string, value: unknown) => `Command [${id}]: ${what} is not a time (${String(value)})`),
  // Jobs
  JOB_NOT_FOUND: define('COURIER_ERR_JOB_NOT_FOUND', 404, (id: string) => `Job [${id}] not found`),
  JOB_NOT_CONTROLLABLE: define('COURIER_ERR_JOB_NOT_CONTROLLABLE', 409, (id: string, status: string, verb: string) => `Job [${id}] is ${status}: it cannot be ${verb}`),
  JOB_LEASE_LOST: define('COURIER_ERR_JOB_LEASE_LOST', 409, (id: string) => `Job [${id}] was written by another node since this one read it: it is driven there now`),
  TOO_MANY_TARGETS: define('COURIER_ERR_TOO_MANY_TARGETS', 400, (max: number) => `This job would reach more than ${max} targets (--max-commands-per-request)`),
  JOBS_NOT_SUPPORTED: define('COURIER_ERR_JOBS_NOT_SUPPORTED', 501, (store: string) => `Jobs are not available on the ${store} store yet`),
  COMMAND_NOT_CANCELLABLE: define(
    'COURIER_ERR_COMMAND_NOT_CANCELLABLE',
    409,
    (id: string, status: string) => `Command [${id}] is ${status}: only a pending command can be cancelled`,
  ),
  /** The Wazuh long-poll timeout: its body code is the number 408, as Wazuh agents expect. */
  LONG_POLL_TIMEOUT: entry('COURIER_ERR_LONG_POLL_TIMEOUT', 408, () => ({ message: 'Request exceeded the processing time limit', wireCode: 408 })),
  // Agents
  AGENT_NOT_FOUND: define('COURIER_ERR_AGENT_NOT_FOUND', 404, (id: string) => `Agent [${id}] not found`),
  AGENT_EXISTS: define('COURIER_ERR_AGENT_EXISTS', 409, (id: string) => `Agent [${id}] already exists`),
  // Agent authentication. An unknown agent and a wrong key get the same answer (Wazuh tells them
  // apart, which lets anyone list the registered ids). An expired token is 401: the Wazuh agent
  // authenticates again on a 401, at once; on a 403 it waits for its own renewal timer.
  INVALID_KEY: define('COURIER_ERR_INVALID_KEY', 401, () => 'Invalid agent id or key'),
  MISSING_TOKEN: define('COURIER_ERR_MISSING_TOKEN', 403, () => 'Missing bearer token in the Authorization header'),
  INVALID_TOKEN: define('COURIER_ERR_INVALID_TOKEN', 403, () => 'Invalid token'),
  EXPIRED_TOKEN: define('COURIER_ERR_EXPIRED_TOKEN', 401, () => 'Token expired: authenticate again'),
  /** Too many failed authentications from this address, or for this agent id (see AuthenticationGuard). */
  TOO_MANY_ATTEMPTS: entry('COURIER_ERR_TOO_MANY_ATTEMPTS', 429, (retryAfterS: number) => ({
    message: `Too many failed authentications: try again in ${retryAfterS} s`,
    retryAfterS,
  })),
  CLIENT_CERTIFICATE_REQUIRED: define('COURIER_ERR_CLIENT_CERTIFICATE_REQUIRED', 403, () => "A client certificate signed by courier's client CA is required (mutual TLS)"),
  CLIENT_CERTIFICATE_MISMATCH: define('COURIER_ERR_CLIENT_CERTIFICATE_MISMATCH', 403, (id: string) => `The client certificate does not name agent [${id}]`),
  // Agent enrollment: one answer for every refused token. `why` is said only to whoever presented the
  // token's secret (expired, used up, revoked): an unknown id and a wrong secret read the same.
  INVALID_ENROLLMENT_TOKEN: define('COURIER_ERR_INVALID_ENROLLMENT_TOKEN', 401, (why?: string) => `Invalid enrollment token${why ? `: ${why}` : ''}`),
  INVALID_CSR: define('COURIER_ERR_INVALID_CSR', 400, () => 'The csr is not a PKCS#10 certificate request (PEM) signed by the key it names'),
  CSR_NOT_SIGNED: define(
    'COURIER_ERR_CSR_NOT_SIGNED',
    400,
    () => 'This courier signs no client certificates (it runs without --tls-client-ca and --tls-client-ca-key): enroll without a csr',
  ),
  // Operators (management API)
  MISSING_API_KEY: define('COURIER_ERR_MISSING_API_KEY', 401, () => 'Missing API key: send Authorization: Bearer <key>'),
  INVALID_API_KEY: define('COURIER_ERR_INVALID_API_KEY', 401, () => 'Invalid or revoked API key'),
  /** Only said to whoever presents the key's secret: it tells nothing of keys one does not hold. */
  EXPIRED_API_KEY: define('COURIER_ERR_EXPIRED_API_KEY', 401, () => 'API key expired: ask an admin for a new one'),
  LAST_ADMIN_KEY: define(
    'COURIER_ERR_LAST_ADMIN_KEY',
    409,
    (id: string) => `API key [${id}] is the last active admin key without a scope: make another one before revoking it (or revoke it on the admin socket)`,
  ),
  FORBIDDEN: define('COURIER_ERR_FORBIDDEN', 403, (role: string, permission: string) => `Role ${role} may not ${permission}`),
  OUT_OF_SCOPE: define('COURIER_ERR_OUT_OF_SCOPE', 403, (what: string) => `Outside the key's scope: ${what}`),
  REQUEST_NOT_FOUND: define('COURIER_ERR_REQUEST_NOT_FOUND', 404, (id: string) => `Request [${id}] not found (or none of its commands is in the key's scope)`),
  API_KEY_NOT_FOUND: define('COURIER_ERR_API_KEY_NOT_FOUND', 404, (id: string) => `API key [${id}] not found or already revoked`),
  ENROLLMENT_TOKEN_NOT_FOUND: define('COURIER_ERR_ENROLLMENT_TOKEN_NOT_FOUND', 404, (id: string) => `Enrollment token [${id}] not found or already revoked`),
  // Nodes of a cluster
  NOT_A_PEER: define('COURIER_ERR_NOT_A_PEER', 401, () => "Not a node of this cluster: send Authorization: Bearer <this node's secret, from its card in the cluster>"),
  // Components embedding courier (the library) and their routes on the admin socket
  PLUGIN_PREFIX_INVALID: define(
    'COURIER_ERR_PLUGIN_PREFIX_INVALID',
    400,
    (prefix: string) => `Plugin prefix "${prefix}" must be a path of plain segments below / (e.g. /api/v1/rbac): no parameters, wildcards or trailing slash`,
  ),
  PLUGIN_ROUTE_SHADOWED: define(
    'COURIER_ERR_PLUGIN_ROUTE_SHADOWED',
    409,
    (prefix: string, route: string) => `Plugin prefix ${prefix} would shadow courier's own route ${route} on the admin socket: choose a prefix no built-in route lies under`,
  ),
  PLUGIN_PREFIX_TAKEN: define(
    'COURIER_ERR_PLUGIN_PREFIX_TAKEN',
    409,
    (prefix: string, taken: string) => `Plugin prefix ${prefix} overlaps ${taken}, the prefix of a plugin already registered: one component per prefix`,
  ),
  PLUGIN_MODULE: define('COURIER_ERR_PLUGIN_MODULE', 500, (module: string, detail: string) => `Plugin module ${module} cannot be used: ${detail}`),
  SUBSCRIPTION_TARGET: define(
    'COURIER_ERR_SUBSCRIPTION_TARGET',
    400,
    (detail: string) => `In-process subscriptions are for server targets ({ type: 'server', id: '<module>' }): ${detail}`,
  ),
  // Runtime
  SHUTTING_DOWN: define('COURIER_ERR_SHUTTING_DOWN', 503, () => 'Courier is shutting down'),
  STORE_UNAVAILABLE: define('COURIER_ERR_STORE_UNAVAILABLE', 503, (detail: string) => `Store unavailable: ${detail}`),
  /**
   * The store was asked to write and gave no answer (a timeout, a connection cut after the request
   * went out): the write may have happened, or may still. Not the same as "not written".
   */
  STORE_OUTCOME_UNKNOWN: define(
    'COURIER_ERR_STORE_OUTCOME_UNKNOWN',
    503,
    (detail: string) =>
      `The store gave no answer (${detail}): the commands may have been stored, and then run. ` +
      'Look them up by request_id, or retry with their document_ids (or the same Idempotency-Key): a retry does not make them twice',
  ),
  /** Disk full (SQLite) or the cluster's disk flood stage: nothing can be written until space is freed. */
  STORE_FULL: define('COURIER_ERR_STORE_FULL', 507, (detail: string) => `The store is full: ${detail}`),
  STORE_REJECTED: define('COURIER_ERR_STORE_REJECTED', 500, (detail: string) => `The store refused a write: ${detail}`),
  /** A status read back from the store that courier never writes: the data is not (or no longer) courier's. */
  UNKNOWN_STORED_STATUS: define('COURIER_ERR_UNKNOWN_STORED_STATUS', 500, (value: string, where: string) => `${where} holds a status courier does not know: [${value}]`),
  OPENSEARCH_INDEX: define('COURIER_ERR_OPENSEARCH_INDEX', 500, (index: string, detail: string) => `OpenSearch index ${index}: ${detail}`),
  SOCKET_IN_USE: define('COURIER_ERR_SOCKET_IN_USE', 500, (path: string) => `Unix socket ${path} is in use by a running process; stop it or choose another --socket`),
  DATA_DIR_IN_USE: define(
    'COURIER_ERR_DATA_DIR_IN_USE',
    500,
    (dir: string, pid: number) => `Data directory ${dir} is in use by a running courier${pid ? ` (pid ${pid})` : ''}; stop it or choose another --data-dir`,
  ),
  SHUTDOWN_TIMEOUT: define('COURIER_ERR_SHUTDOWN_TIMEOUT', 500, (ms: number, detail: string) => `Shutdown did not finish within ${ms} ms: ${detail}`),
  DATA_DIR_UNSAFE: define('COURIER_ERR_DATA_DIR_UNSAFE', 500, (dir: string, why: string) => `Refusing the data directory ${dir}: ${why}`),
  STORE_READ_ONLY: define(
    'COURIER_ERR_STORE_READ_ONLY',
    500,
    (file: string, detail: string) => `The database ${file} cannot be written (${detail}): check its owner, its mode and that its filesystem is mounted read-write`,
  ),
  CORRUPT_FILE: define('COURIER_ERR_CORRUPT_FILE', 500, (file: string, detail: string, remedy: string) => `${file} cannot be read (${detail}): ${remedy}`),
  CONFIG: define('COURIER_ERR_CONFIG', 500, (detail: string) => `Invalid configuration: ${detail}`),
  INTERNAL: define('COURIER_ERR_INTERNAL', 500, () => 'Internal server error'),
} as const;

export interface ErrorBody extends ErrorDetails {
  message: string;
  code: string | number;
}

export function toErrorBody(error: CourierError): ErrorBody {
  return { message: error.message, code: error.wireCode ?? error.code, ...error.details };
}

/** An error as it crosses to another process (a connection worker and its primary): its fields, not its class. */
export interface WireError {
  code: string;
  statusCode: number;
  message: string;
  wireCode?: number | undefined;
  retryAfterS?: number | undefined;
  details?: ErrorDetails | undefined;
}

/** What crosses for `error`; anything but a courier error crosses as an internal error (its detail stays in this process's log). */
export function errorToWire(error: unknown): WireError {
  const e = error instanceof CourierError ? error : errors.INTERNAL();
  return { code: e.code, statusCode: e.statusCode, message: e.message, wireCode: e.wireCode, retryAfterS: e.retryAfterS, details: e.details };
}

/** The courier error that crossed as `wire`; `cause`: what it reported, as far as it could cross. */
export function errorFromWire(wire: WireError, cause?: unknown): CourierError {
  return new CourierError(wire.code, wire.statusCode, wire.message, { wireCode: wire.wireCode, retryAfterS: wire.retryAfterS, details: wire.details, cause });
}
