import { AGENT_ROUTE_PREFIX, SERVER_ROUTE_PREFIX, UNFINISHED_STATUSES } from '../../domain/command.js';
import { statusIn } from './status-query.js';

// The queries by which a node finds, in `wazuh-commands`, the commands it may have to act on: the
// re-scan, the tail of the routes it serves, and a route's commands when it starts serving it.

/**
 * What the poller's periodic re-scan reads: every command someone may have to act on now, whoever
 * wrote it — pending ones; claimed ones whose claim lapsed (or that nobody claimed: a Wazuh server
 * writes `sent` without a claim); claimed ones past their delivery deadline; delivered ones past their
 * execution deadline. With `routes` (a node of a cluster, see `RouteAffinity`), the pending ones only
 * of these routes, past their delivery deadline, or written by others than courier: the others'
 * pending commands are their nodes' business, and a node reading them would only drop them.
 */
export function rescanQuery(now: number, routes?: readonly string[]) {
  const pending = statusIn(['pending']);
  return {
    bool: {
      minimum_should_match: 1,
      should: [
        routes ? { bool: { filter: [pending], minimum_should_match: 1, should: [servedBy(routes), { range: { delivery_timestamp: { lte: now } } }] } } : pending,
        {
          bool: {
            filter: [statusIn(['sent'])],
            should: [{ range: { 'courier.claim.until': { lte: now } } }, { bool: { must_not: { exists: { field: 'courier.claim.until' } } } }],
            minimum_should_match: 1,
          },
        },
        { bool: { filter: [statusIn(['sent']), { range: { delivery_timestamp: { lte: now } } }] } },
        { bool: { filter: [statusIn(['delivered']), { range: { 'courier.execution_deadline': { lte: now } } }] } },
      ],
    },
  };
}

/**
 * The unfinished commands of these routes: by `courier.route` where courier wrote it, else (a
 * document of the Wazuh plugin or an operator) by its target, from which courier derives the route.
 */
export function routesQuery(routes: string[]) {
  const agents = routes.filter((r) => r.startsWith(AGENT_ROUTE_PREFIX)).map((r) => r.slice(AGENT_ROUTE_PREFIX.length));
  const servers = routes.filter((r) => r.startsWith(SERVER_ROUTE_PREFIX)).map((r) => r.slice(SERVER_ROUTE_PREFIX.length));
  return {
    bool: {
      filter: [statusIn(UNFINISHED_STATUSES)],
      minimum_should_match: 1,
      should: [
        { terms: { 'courier.route': routes } },
        {
          bool: {
            must_not: { exists: { field: 'courier.route' } },
            minimum_should_match: 1,
            should: [{ terms: { 'agent.id': agents } }, { terms: { 'command.target.id': [...agents, ...servers] } }],
          },
        },
      ],
    },
  };
}

/**
 * Documents of these routes, and documents courier never wrote (no `courier.route`: their route is
 * derived on reading, and the first node to read one records it, see `noteDiscovered`).
 */
export function servedBy(routes: readonly string[]) {
  return {
    bool: {
      minimum_should_match: 1,
      should: [{ terms: { 'courier.route': [...routes] } }, { bool: { must_not: { exists: { field: 'courier.route' } } } }],
    },
  };
}
