import type { Health } from './operational-routes.js';
import type { IndexerPoller } from '../poller/indexer-poller.js';
import type { Supervisor } from '../runtime/supervisor.js';

export interface ReadinessParts {
  supervisor: Supervisor;
  /** Absent: the store is not shared (SQLite), nothing is polled. */
  poller: IndexerPoller | undefined;
  store: string;
  node: string;
}

/**
 * What `/healthz` reports on every listener. Ready: the supervisor runs, the store takes writes
 * (none failing, none unanswered for long) and, on a shared cluster, the poller can read it;
 * otherwise `reason` says why not.
 */
export function readiness({ supervisor, poller, store, node }: ReadinessParts): () => Health {
  return () => {
    const state = supervisor.state;
    const indexer = poller?.health();
    const writes = supervisor.storeWriteProblem;
    const reason = state !== 'running' ? `supervisor is ${state}` : writes ? `store writes failing: ${writes.message}` : indexer && !indexer.ok ? indexer.reason : null;
    return {
      ready: reason === null,
      state,
      store,
      node,
      ...(indexer ? { indexer: { state: indexer.state, cursor: indexer.cursor, failures: indexer.failures } } : {}),
      ...(reason ? { reason } : {}),
      // e.g. COURIER_ERR_STORE_FULL: free disk space and writes resume by themselves.
      ...(writes ? { code: writes.code } : {}),
    };
  };
}
