import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from '../../src/errors.js';
import { storedFromStatus, storedStatus } from '../../src/store/stored-status.js';

test('a status read back from a store is taken when it is one, refused (naming the record) when not', () => {
  assert.equal(storedStatus('delivered', 'command c-1'), 'delivered');
  assert.equal(storedFromStatus(null, 'audit record 1'), null);
  assert.equal(storedFromStatus(undefined, 'audit record 1'), null);
  assert.equal(storedFromStatus('sent', 'audit record 1'), 'sent');
  for (const bad of ['failed', 'PENDING', '', 42]) {
    assert.throws(
      () => storedStatus(bad, 'command c-1'),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, errors.UNKNOWN_STORED_STATUS.code);
        assert.match(error.message, /^command c-1 holds a status courier does not know: \[/);
        return true;
      },
    );
  }
  assert.throws(() => storedFromStatus('archived', 'audit record 9'), { code: errors.UNKNOWN_STORED_STATUS.code });
});
