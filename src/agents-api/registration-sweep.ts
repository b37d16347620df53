import type { Logger } from 'pino';
import type { AgentRegistry } from '../auth/agent-registry.js';
import { AGENT_ROUTE_PREFIX } from '../domain/command.js';
import type { Supervisor } from '../runtime/supervisor.js';

export interface RegistrationSweepDeps {
  agents: AgentRegistry;
  supervisor: Supervisor;
  logger: Logger;
  /** How often (ms): the cluster's poll interval, so that a removal reaches every node's connections within one. */
  intervalMs: number;
}

/**
 * On a cluster, an agent removed (or registered again) through another node must lose its
 * connections here too. Every interval, the agents connected to this node are read back in one
 * batch; those removed or registered again since their connections authenticated are forgotten,
 * which ends their long-polls and WebSockets (`AgentRegistry.onRemoved`). Returns the stop.
 */
export function startRegistrationSweep({ agents, supervisor, logger, intervalMs }: RegistrationSweepDeps): () => void {
  let running = false;
  let failing = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const connected = [...supervisor.connectedRoutes()].filter((route) => route.startsWith(AGENT_ROUTE_PREFIX)).map((route) => route.slice(AGENT_ROUTE_PREFIX.length));
    agents
      .sweep(connected)
      .then((gone) => {
        if (failing) logger.info('registration sweep: reading agents again');
        failing = false;
        if (gone.length > 0) logger.info({ agents: gone }, 'agents removed or registered again on another node: their connections here end');
      })
      .catch((err: unknown) => {
        // The cluster cannot be read: the sweep tries again next time; logged once per outage.
        if (!failing) logger.warn({ err }, 'registration sweep: agents cannot be read');
        failing = true;
      })
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
