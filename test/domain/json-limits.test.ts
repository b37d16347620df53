import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLimitProblem } from '../../src/domain/json-limits.js';

const nested = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { k: value };
  return value;
};

describe('jsonLimitProblem', () => {
  const limits = { maxDepth: 4, maxBytes: 100 };

  test('a value within the limits passes, at exactly the depth limit', () => {
    assert.equal(jsonLimitProblem(nested(4), limits, 'x'), null);
    assert.equal(jsonLimitProblem({ a: [1, true, null, false, 'two'] }, limits, 'x'), null);
    assert.equal(jsonLimitProblem('scalar', limits, 'x'), null);
  });

  test('one level deeper is refused, naming the field', () => {
    assert.equal(jsonLimitProblem(nested(5), limits, 'body.results.0.data'), '[body.results.0.data] is nested deeper than 4 levels');
  });

  test('a value nested far beyond the stack is measured without recursion', () => {
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    assert.match(jsonLimitProblem(deep, { maxDepth: 32, maxBytes: 1e9 }, 'data')!, /nested deeper than 32/);
  });

  test('size counts the JSON text: exactly at the limit passes, one byte over is refused', () => {
    const fits = { k: 'x'.repeat(100 - '{"k":""}'.length) };
    assert.equal(JSON.stringify(fits).length, 100);
    assert.equal(jsonLimitProblem(fits, limits, 'x'), null);
    const over = { k: 'x'.repeat(101 - '{"k":""}'.length) };
    assert.equal(jsonLimitProblem(over, limits, 'x'), '[x] is larger than 100 bytes of JSON');
  });

  test('the size of arrays, numbers and literals matches JSON.stringify', () => {
    const value = [1.5, -20, true, false, null, 'ab', { a: 1, bc: [] }];
    const exact = JSON.stringify(value).length;
    assert.equal(jsonLimitProblem(value, { maxDepth: 8, maxBytes: exact }, 'x'), null);
    assert.notEqual(jsonLimitProblem(value, { maxDepth: 8, maxBytes: exact - 1 }, 'x'), null);
  });
});
