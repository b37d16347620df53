import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors as clientErrors } from '@opensearch-project/opensearch';
import { isOutcomeUnknown, toWriteError } from '../../../src/store/opensearch/failures.js';

test('a write with no answer is of unknown outcome; a refused connection or an answer is known', () => {
  const unknown = [
    new clientErrors.TimeoutError('Request timed out', undefined as never),
    new clientErrors.ConnectionError('socket hang up'),
    new clientErrors.ConnectionError('read ECONNRESET'),
  ];
  const known = [
    new clientErrors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200'),
    new clientErrors.ConnectionError('getaddrinfo ENOTFOUND opensearch'),
    new clientErrors.NoLivingConnectionsError('no living connections', undefined as never),
    new Error('something else'),
  ];
  for (const error of unknown) {
    assert.equal(isOutcomeUnknown(error), true, error.message);
    assert.equal((toWriteError(error) as { code: string }).code, 'COURIER_ERR_STORE_OUTCOME_UNKNOWN');
  }
  for (const error of known) assert.equal(isOutcomeUnknown(error), false, error.message);
  assert.equal((toWriteError(known[0]) as { code: string }).code, 'COURIER_ERR_STORE_UNAVAILABLE');
});
