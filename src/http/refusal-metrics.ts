import { CourierError } from '../errors.js';
import type { RefusalCounters } from '../metrics.js';
import type { HttpApp } from './app.js';

// In the HTTP kernel: both TCP listeners (agents-api/, management/) count their refusals.

/** Counts every 401 and 403 an API answers (`courier_refusals_total`), whether or not it is audited. */
export function countRefusals(app: HttpApp, metrics: RefusalCounters, api: 'agents' | 'management'): void {
  app.addHook('onError', async (_request, _reply, error) => {
    if (isRefusal(error)) metrics.countRefusal(api, error.code);
  });
}

export function isRefusal(error: unknown): error is CourierError {
  return error instanceof CourierError && (error.statusCode === 401 || error.statusCode === 403);
}
