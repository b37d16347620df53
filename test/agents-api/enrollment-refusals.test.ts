import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { errors } from '../../src/errors.js';
import { EnrollmentRefusals } from '../../src/agents-api/enrollment-refusals.js';
import type { OperatorStore, RefusalRecord } from '../../src/store/operator-store.js';

/** The audit of refused enrollments: the first of each kind now, the rest as one summary when the window ends. */
test('refusals of one kind are recorded once, the rest summarized under the same actor; other kinds apart', async () => {
  const written: RefusalRecord[] = [];
  const store = { recordRefusal: async (record: RefusalRecord) => void written.push(record) } as unknown as OperatorStore;
  let now = 1_000_000;
  const refusals = new EnrollmentRefusals({ store, node: 'n1', now: () => now, logger: pino({ level: 'silent' }), windowMs: 60_000 });
  for (let i = 0; i < 3; i++) await refusals.record('10.0.0.1', errors.INVALID_ENROLLMENT_TOKEN('expired'), '00000000000000aa');
  await refusals.record('10.0.0.1', errors.INVALID_ENROLLMENT_TOKEN('expired'), '00000000000000bb');
  for (let i = 0; i < 4; i++) await refusals.record('10.0.0.2', errors.INVALID_ENROLLMENT_TOKEN(), null);
  assert.deepEqual(
    written.map((r) => [r.actor, r.detail]),
    [
      ['enrollment-token:00000000000000aa', 'POST /api/v1/enroll: Invalid enrollment token: expired (COURIER_ERR_INVALID_ENROLLMENT_TOKEN) from 10.0.0.1'],
      ['enrollment-token:00000000000000bb', 'POST /api/v1/enroll: Invalid enrollment token: expired (COURIER_ERR_INVALID_ENROLLMENT_TOKEN) from 10.0.0.1'],
      ['anonymous', 'POST /api/v1/enroll: Invalid enrollment token (COURIER_ERR_INVALID_ENROLLMENT_TOKEN) from 10.0.0.2'],
    ],
  );

  now += 60_000;
  await refusals.close();
  const summaries = written.slice(3).map((r) => [r.actor, r.detail.replace(/ since [^,]+/, '')]);
  assert.deepEqual(summaries.sort(), [
    ['anonymous', 'POST /api/v1/enroll: 3 more refused (Invalid enrollment token (COURIER_ERR_INVALID_ENROLLMENT_TOKEN)) from 10.0.0.2, not recorded one by one'],
    [
      'enrollment-token:00000000000000aa',
      'POST /api/v1/enroll: 2 more refused (Invalid enrollment token: expired (COURIER_ERR_INVALID_ENROLLMENT_TOKEN), token 00000000000000aa) from 10.0.0.1, not recorded one by one',
    ],
  ]);
  assert.ok(written.every((r) => r.node === 'n1' && r.document_id === null));
});
