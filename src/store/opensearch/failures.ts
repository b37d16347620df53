import { errors as clientErrors } from '@opensearch-project/opensearch';
import { CourierError, errors } from '../../errors.js';

/** An HTTP error answer of the cluster with this status. */
export function isStatus(error: unknown, status: number): boolean {
  return error instanceof clientErrors.ResponseError && error.statusCode === status;
}

/** The cluster could not be reached or did not answer in time, or answered that it cannot serve now. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof clientErrors.ConnectionError || error instanceof clientErrors.TimeoutError || error instanceof clientErrors.NoLivingConnectionsError) {
    return true;
  }
  return error instanceof clientErrors.ResponseError && (error.statusCode === 429 || error.statusCode >= 500);
}

/**
 * The request may have reached the cluster and may be carried out, but no answer came: a timeout,
 * or a connection cut once open. A refused connection, an unknown host or an answer are known outcomes.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (error instanceof clientErrors.TimeoutError) return true;
  if (!(error instanceof clientErrors.ConnectionError)) return false;
  return !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(error.message);
}

/** A short, log-friendly account of a cluster error. */
export function describe(error: unknown): string {
  if (error instanceof clientErrors.ResponseError) {
    const reason = (error.body as { error?: { reason?: string; type?: string } } | undefined)?.error;
    return `HTTP ${error.statusCode}${reason ? `: ${reason.type ?? ''} ${reason.reason ?? ''}`.trimEnd() : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Errors that reach producers: an unreachable cluster is a 503 with the reason, not a 500. */
export function toCourierError(error: unknown): unknown {
  if (error instanceof CourierError) return error;
  return isUnavailable(error) ? errors.STORE_UNAVAILABLE.causedBy(error, describe(error)) : error;
}

/** Errors of a write: one the cluster may have carried out is said to be of unknown outcome, not unavailable. */
export function toWriteError(error: unknown): unknown {
  return isOutcomeUnknown(error) ? errors.STORE_OUTCOME_UNKNOWN.causedBy(error, describe(error)) : toCourierError(error);
}

/** A search answered, but not from every shard or not in time: its hits cannot be trusted to be complete. */
export class PartialReadError extends Error {
  constructor(what: string) {
    super(`partial search result (${what})`);
    this.name = 'PartialReadError';
  }
}

export function assertComplete(body: { timed_out?: boolean; _shards?: { failed?: number; total?: number } }): void {
  if (body.timed_out) throw new PartialReadError('timed_out');
  const failed = body._shards?.failed ?? 0;
  if (failed > 0) throw new PartialReadError(`${failed} of ${body._shards?.total ?? '?'} shards failed`);
}
