/** How long a store request may stay unanswered before the store is taken for hung (ms). */
const UNANSWERED_MS = 3000;

/**
 * A store that has left a request unanswered this long is taken for hung (a frozen cluster, a
 * stalled disk) at once, not after the request's own timeout: `/healthz` says so and creates are
 * refused meanwhile. Returns the reason, or null while the wait is shorter.
 */
export function unansweredFor(what: 'read' | 'write', waitedMs: number): string | null {
  return waitedMs > UNANSWERED_MS ? `the store has not answered a ${what} for ${(waitedMs / 1000).toFixed(1)} s` : null;
}
