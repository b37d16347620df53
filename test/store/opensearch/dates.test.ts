// Dates in command documents are read as OpenSearch reads a `date` field mapped with
// `strict_date_optional_time||epoch_millis`. Pure functions: no cluster needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { isDateMillis, readDate } from '../../../src/store/opensearch/dates.js';

const ms = (value: unknown) => {
  const date = readDate(value);
  return date.kind === 'time' ? date.ms : date.kind;
};

describe('readDate', () => {
  test('ISO strings, with or without an offset, fraction or trailing parts', () => {
    assert.equal(ms('2025-03-01T10:00:00Z'), Date.UTC(2025, 2, 1, 10));
    assert.equal(ms('2025-03-01T10:00:00.123Z'), Date.UTC(2025, 2, 1, 10, 0, 0, 123));
    assert.equal(ms('2025-03-01T10:00:00.123456789Z'), Date.UTC(2025, 2, 1, 10, 0, 0, 123));
    assert.equal(ms('2025-03-01T10:00:00,5Z'), Date.UTC(2025, 2, 1, 10, 0, 0, 500));
    assert.equal(ms('2025-03-01T12:00:00+02:00'), Date.UTC(2025, 2, 1, 10));
    assert.equal(ms('2025-03-01T12:00:00+0200'), Date.UTC(2025, 2, 1, 10));
    assert.equal(ms('2025-03-01T08:30:00-01:30'), Date.UTC(2025, 2, 1, 10));
    // No offset is UTC (as OpenSearch reads it), whatever the local time zone.
    assert.equal(ms('2025-03-01T10:00:00'), Date.UTC(2025, 2, 1, 10));
    assert.equal(ms('2025-03-01T10'), Date.UTC(2025, 2, 1, 10));
    assert.equal(ms('2025-03-01'), Date.UTC(2025, 2, 1));
    assert.equal(ms('2025'), Date.UTC(2025, 0, 1));
    assert.equal(ms('0025-01-01'), new Date('0025-01-01T00:00:00Z').getTime());
  });

  test('epoch millis: numbers and numeric strings; a 4-digit number is a year, as OpenSearch reads it', () => {
    assert.equal(ms(1764355200000), 1764355200000);
    assert.equal(ms('1764355200000'), 1764355200000);
    assert.equal(ms('1764355200000.7'), 1764355200000);
    assert.equal(ms(0), 0);
    assert.equal(ms(2025), Date.UTC(2025, 0, 1));
  });

  test('absent and unreadable', () => {
    for (const absent of [undefined, null, '']) assert.equal(ms(absent), 'absent');
    for (const bad of ['yesterday', '2025-13-01', '2025-02-30', '2025-03-01T24:00:00Z', '1e3', true, {}, [], NaN, Infinity, 1e17, '99999999999999999']) {
      assert.equal(ms(bad), 'invalid', inspect(bad));
    }
    assert.deepEqual(readDate('yesterday'), { kind: 'invalid', raw: '"yesterday"' });
  });

  test('isDateMillis: finite and within what a Date holds', () => {
    assert.equal(isDateMillis(8.64e15), true);
    assert.equal(isDateMillis(-8.64e15), true);
    assert.equal(isDateMillis(8.64e15 + 1), false);
    assert.equal(isDateMillis(NaN), false);
    assert.equal(isDateMillis(Infinity), false);
  });
});
