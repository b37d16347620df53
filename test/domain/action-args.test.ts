import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { actionArgsProblem } from '../../src/domain/action-args.js';

const problem = (name: string, args: Record<string, unknown> | undefined, where = 'commands.0') => actionArgsProblem({ name, args: args as Record<string, unknown> }, where);

describe('actionArgsProblem: set-group', () => {
  test('a list of group names is accepted', () => {
    assert.equal(problem('set-group', { groups: ['default'] }), null);
    assert.equal(problem('set-group', { groups: ['g1', 'g2', 'g3'] }), null);
  });

  test('extra arguments are left alone', () => {
    assert.equal(problem('set-group', { groups: ['g1'], mode: 'append' }), null);
  });

  test('groups missing: "Missing arguments", naming the field', () => {
    assert.equal(problem('set-group', {}), 'Missing arguments: [commands.0.action.args.groups]');
    assert.equal(problem('set-group', undefined), 'Missing arguments: [commands.0.action.args.groups]');
  });

  test('groups not an array: the field and the type found are named', () => {
    const cases: [unknown, string][] = [
      ['g1', 'VALUE_STRING'],
      [7, 'VALUE_NUMBER'],
      [true, 'VALUE_BOOLEAN'],
      [null, 'VALUE_NULL'],
      [{ g1: true }, 'START_OBJECT'],
    ];
    for (const [value, type] of cases) {
      assert.equal(problem('set-group', { groups: value }), `Expected [commands.0.action.args.groups] to be an array, got [${type}]`, JSON.stringify(value));
    }
  });

  test('groups holding anything but non-empty strings', () => {
    for (const groups of [[''], ['g1', ''], [1], ['g1', null], [['g1']], [{}]]) {
      assert.equal(problem('set-group', { groups }), 'Expected [commands.0.action.args.groups] to hold only non-empty strings', JSON.stringify(groups));
    }
  });

  test('the location prefix is the one given', () => {
    assert.equal(problem('set-group', {}, 'commands.12'), 'Missing arguments: [commands.12.action.args.groups]');
    assert.match(problem('set-group', { groups: 'x' }, 'body')!, /^Expected \[body\.action\.args\.groups\]/);
  });
});

describe('actionArgsProblem: refresh', () => {
  test('index is optional', () => {
    assert.equal(problem('refresh', {}), null);
    assert.equal(problem('refresh', undefined), null);
  });

  test('index, when given, is a list of non-empty strings', () => {
    assert.equal(problem('refresh', { index: ['wazuh-states-inventory-packages'] }), null);
    assert.equal(problem('refresh', { index: 'wazuh-states' }), 'Expected [commands.0.action.args.index] to be an array, got [VALUE_STRING]');
    assert.equal(problem('refresh', { index: [''] }), 'Expected [commands.0.action.args.index] to hold only non-empty strings');
  });

  test('refresh does not require groups', () => {
    assert.equal(problem('refresh', { groups: 'not checked here' }), null);
  });
});

describe('actionArgsProblem: other actions', () => {
  test('any other action name passes with any arguments', () => {
    for (const name of ['restart', 'upgrade', 'fetch-config', 'set-group-x', 'Set-Group']) {
      assert.equal(problem(name, { groups: 'anything', index: 5 }), null, name);
      assert.equal(problem(name, undefined), null, name);
    }
  });
});
