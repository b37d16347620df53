import { statusIn } from './status-query.js';

/**
 * What the poller's periodic re-scan reads: every command someone may have to act on now, whoever
 * wrote it — pending ones; claimed ones whose claim lapsed (or that nobody claimed: a Wazuh server
 * writes `sent` without a claim); claimed ones past their delivery deadline; delivered ones past their
 * execution deadline.
 */
export function rescanQuery(now: number) {
  return {
    bool: {
      minimum_should_match: 1,
      should: [
        statusIn(['pending']),
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
