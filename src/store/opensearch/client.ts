import { readFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';

export interface OpenSearchConnection {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** PEM file of the CA that signed the cluster's certificate. */
  caFile?: string | undefined;
  /** Accept any certificate (testing only). */
  skipTlsVerify?: boolean | undefined;
  /** Per request (default 30 s). */
  requestTimeoutMs?: number | undefined;
}

/**
 * The cluster client. It never retries on its own: courier decides (the poller backs off, the
 * write batcher retries status changes, a producer is told at once that its create failed).
 */
export function createOpenSearchClient(connection: OpenSearchConnection): Client {
  const ssl = {
    ...(connection.caFile ? { ca: readFileSync(connection.caFile) } : {}),
    ...(connection.skipTlsVerify ? { rejectUnauthorized: false } : {}),
  };
  return new Client({
    node: connection.url,
    ...(connection.username !== undefined ? { auth: { username: connection.username, password: connection.password ?? '' } } : {}),
    ...(Object.keys(ssl).length > 0 ? { ssl } : {}),
    maxRetries: 0,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
  });
}
