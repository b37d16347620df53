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
        { term: { 'command.status': 'pending' } },
        {
          bool: {
            filter: [{ term: { 'command.status': 'sent' } }],
            should: [{ range: { 'courier.claim.until': { lte: now } } }, { bool: { must_not: { exists: { field: 'courier.claim.until' } } } }],
            minimum_should_match: 1,
          },
        },
        { bool: { filter: [{ term: { 'command.status': 'sent' } }, { range: { delivery_timestamp: { lte: now } } }] } },
        { bool: { filter: [{ term: { 'command.status': 'delivered' } }, { range: { 'courier.execution_deadline': { lte: now } } }] } },
      ],
    },
  };
}
