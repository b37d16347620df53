import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/logger.js';
import { LogLines } from './support/log-lines.js';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** A pretty line: [local time] LEVEL: message, then the record's fields as JSON on the same line. */
const PRETTY_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN): agent connected \{"agentId":"a-1","transport":"websocket"\}$/;
// Colour codes (ESC [ … m), taken off before a pretty line is matched.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

describe('createLogger', () => {
  test('auto, to a stream that is not a terminal: one JSON record a line, its time in ISO 8601', () => {
    const out = new LogLines();
    const before = Date.now();
    createLogger({ logLevel: 'info', logFormat: 'auto' }, out).info({ agentId: 'a-1' }, 'agent connected');
    // Written by the time the call returns: nothing waits in a buffer to be lost at exit.
    assert.equal(out.lines.length, 1);
    const [record] = out.records();
    assert.equal(record!.msg, 'agent connected');
    assert.equal(record!.level, 30);
    assert.equal(record!.agentId, 'a-1');
    assert.match(record!.time as string, ISO_TIME);
    const time = Date.parse(record!.time as string);
    assert.ok(time >= before - 1 && time <= Date.now() + 1, record!.time as string);
  });

  test('auto, to a terminal: readable lines', () => {
    const out = new LogLines({ isTTY: true });
    createLogger({ logLevel: 'info', logFormat: 'auto' }, out).info({ agentId: 'a-1', transport: 'websocket' }, 'agent connected');
    assert.equal(out.lines.length, 1);
    assert.match(out.lines[0]!.replace(ANSI, ''), PRETTY_LINE);
  });

  test('pretty, forced, to a stream that is not a terminal: readable lines, without colour codes', () => {
    const out = new LogLines();
    createLogger({ logLevel: 'info', logFormat: 'pretty' }, out).warn({ agentId: 'a-1', transport: 'websocket' }, 'agent connected');
    assert.equal(out.lines.length, 1);
    assert.doesNotMatch(out.lines[0]!, ANSI);
    assert.match(out.lines[0]!, PRETTY_LINE);
    assert.match(out.lines[0]!, /WARN/);
  });

  test('json, forced, to a terminal: JSON lines', () => {
    const out = new LogLines({ isTTY: true });
    createLogger({ logLevel: 'info', logFormat: 'json' }, out).info('courier is running');
    assert.equal(out.records()[0]!.msg, 'courier is running');
    assert.match(out.records()[0]!.time as string, ISO_TIME);
  });

  test('the level holds in either format', () => {
    for (const logFormat of ['json', 'pretty'] as const) {
      const out = new LogLines();
      const logger = createLogger({ logLevel: 'warn', logFormat }, out);
      logger.info('not written');
      logger.warn('written');
      assert.equal(out.lines.length, 1, logFormat);
      assert.match(out.lines[0]!, /written/, logFormat);
      assert.doesNotMatch(out.lines[0]!, /not written/, logFormat);
    }
  });
});
