import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createOpenSearchClient } from './opensearch/client.js';
import { indexNames } from './opensearch/indices.js';
import { OpenSearchStore } from './opensearch/opensearch-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { CommandStore } from './store.js';

/** The store the configuration asks for: OpenSearch when a cluster URL is set, else SQLite in the data directory. */
export function createStore(config: Config, logger: Logger): CommandStore {
  if (config.opensearch === undefined) {
    return new SqliteStore({ file: join(config.dataDir, 'courier.db'), synchronous: config.sync });
  }
  const client = createOpenSearchClient({
    url: config.opensearch,
    username: config.opensearchUsername,
    password: config.opensearchPassword,
    caFile: config.opensearchCa,
    skipTlsVerify: config.opensearchSkipTlsVerify,
    requestTimeoutMs: config.opensearchRequestTimeout,
  });
  return new OpenSearchStore({
    client,
    names: indexNames(config.opensearchIndexPrefix),
    node: config.node,
    logger,
    pageSize: config.pollPageSize,
  });
}
