import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatefulEvents } from '../../src/agents-api/stateful-events.js';
import { CourierError } from '../../src/errors.js';

const META = JSON.stringify({
  agent: { id: '0d5ae8d5', name: 'web-1', groups: ['default'], type: 'endpoint', version: 'v5.0.0', host: { hostname: 'web-1', os: { name: 'Ubuntu' } } },
});
const header = (id: unknown, extra: object = {}) => JSON.stringify({ id, module: 'command', operation: 'update', ...extra });
const data = (result: unknown) => JSON.stringify({ command: { result } });
const ok = (code: unknown = 0, message: unknown = 'done') => data({ code, message });
const ndjson = (...lines: string[]) => `${lines.join('\n')}\n`;

function throwsCoded(body: unknown, code: string, status: number, message?: RegExp): void {
  assert.throws(
    () => parseStatefulEvents(body),
    (error: unknown) => {
      assert.ok(error instanceof CourierError, `expected a CourierError, got ${String(error)}`);
      assert.equal(error.code, code);
      assert.equal(error.statusCode, status);
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

describe('parseStatefulEvents: the Wazuh agent NDJSON', () => {
  test('one result', () => {
    assert.deepEqual(parseStatefulEvents(ndjson(META, header('cmd-1'), ok(0, 'Command executed'))), [{ document_id: 'cmd-1', code: 0, message: 'Command executed' }]);
  });

  test('several results, in order, with data when given', () => {
    const body = ndjson(META, header('cmd-1'), ok(0, 'ok'), header('cmd-2'), data({ code: 3, message: 'failed', data: { stderr: 'x' } }));
    assert.deepEqual(parseStatefulEvents(body), [
      { document_id: 'cmd-1', code: 0, message: 'ok' },
      { document_id: 'cmd-2', code: 3, message: 'failed', data: { stderr: 'x' } },
    ]);
  });

  test('without a final newline, with CRLF line ends, and with blank lines', () => {
    const expected = [{ document_id: 'cmd-1', code: 1, message: 'm' }];
    assert.deepEqual(parseStatefulEvents([META, header('cmd-1'), ok(1, 'm')].join('\n')), expected);
    assert.deepEqual(parseStatefulEvents(`${[META, header('cmd-1'), ok(1, 'm')].join('\r\n')}\r\n`), expected);
    assert.deepEqual(parseStatefulEvents(ndjson(META, '', header('cmd-1'), '   ', ok(1, 'm'), '')), expected);
  });

  test('negative and large integer codes are results too', () => {
    assert.equal(parseStatefulEvents(ndjson(META, header('c'), ok(-1)))[0]?.code, -1);
    assert.equal(parseStatefulEvents(ndjson(META, header('c'), ok(255)))[0]?.code, 255);
  });
});

describe('parseStatefulEvents: malformed bodies', () => {
  const V = 'COURIER_ERR_VALIDATION';
  const J = 'COURIER_ERR_MALFORMED_JSON';

  test('a body that is not a string (not sent as NDJSON) is 415', () => {
    for (const body of [undefined, null, { agent: {} }, [META], 42]) {
      throwsCoded(body, 'COURIER_ERR_UNSUPPORTED_MEDIA_TYPE', 415, /ndjson/);
    }
  });

  const cases: { name: string; body: string; code: string; message: RegExp }[] = [
    { name: 'empty body', body: '', code: V, message: /Line 1/ },
    { name: 'only blank lines', body: '\n\n  \n', code: V, message: /Line 1/ },
    { name: 'metadata line not JSON', body: ndjson('{"agent":', header('c'), ok()), code: J, message: /line 1/ },
    { name: 'header line not JSON', body: ndjson(META, '{id: c}', ok()), code: J, message: /line 2/ },
    { name: 'data line not JSON', body: ndjson(META, header('c'), '{"command":{"result":'), code: J, message: /line 3/ },
    { name: 'missing metadata line', body: ndjson(header('c'), ok()), code: V, message: /Line 1.*agent/ },
    { name: 'metadata without agent', body: ndjson(JSON.stringify({ host: {} }), header('c'), ok()), code: V, message: /Line 1/ },
    { name: 'metadata agent not an object', body: ndjson(JSON.stringify({ agent: 'web-1' }), header('c'), ok()), code: V, message: /Line 1/ },
    { name: 'metadata an array', body: ndjson(JSON.stringify([{ agent: {} }]), header('c'), ok()), code: V, message: /Line 1/ },
    { name: 'only the metadata line', body: ndjson(META), code: V, message: /No events/ },
    { name: 'odd number of lines', body: ndjson(META, header('c')), code: V, message: /pairs/ },
    { name: 'odd number of lines after a full pair', body: ndjson(META, header('c'), ok(), header('d')), code: V, message: /pairs/ },
    { name: 'header not an object', body: ndjson(META, '"c"', ok()), code: V, message: /Line 2/ },
    { name: 'header without id', body: ndjson(META, JSON.stringify({ module: 'command', operation: 'update' }), ok()), code: V, message: /Line 2.*id/ },
    { name: 'header id empty', body: ndjson(META, header(''), ok()), code: V, message: /Line 2.*id/ },
    { name: 'header id a number', body: ndjson(META, header(42), ok()), code: V, message: /Line 2.*id/ },
    { name: 'wrong module', body: ndjson(META, header('c', { module: 'inventory' }), ok()), code: V, message: /Line 2.*module/ },
    { name: 'module missing', body: ndjson(META, JSON.stringify({ id: 'c', operation: 'update' }), ok()), code: V, message: /Line 2.*module/ },
    { name: 'wrong operation', body: ndjson(META, header('c', { operation: 'create' }), ok()), code: V, message: /Line 2.*operation/ },
    { name: 'data not an object', body: ndjson(META, header('c'), '[]'), code: V, message: /Line 3/ },
    { name: 'data without command', body: ndjson(META, header('c'), JSON.stringify({ result: { code: 0, message: 'm' } })), code: V, message: /Line 3/ },
    { name: 'data without result', body: ndjson(META, header('c'), JSON.stringify({ command: {} })), code: V, message: /Line 3/ },
    { name: 'result not an object', body: ndjson(META, header('c'), data('done')), code: V, message: /Line 3/ },
    { name: 'code as a string', body: ndjson(META, header('c'), ok('0')), code: V, message: /Line 3.*code/ },
    { name: 'code not an integer', body: ndjson(META, header('c'), ok(0.5)), code: V, message: /Line 3.*code/ },
    { name: 'code missing', body: ndjson(META, header('c'), data({ message: 'm' })), code: V, message: /Line 3.*code/ },
    { name: 'message not a string', body: ndjson(META, header('c'), ok(0, 7)), code: V, message: /Line 3.*message/ },
    { name: 'message missing', body: ndjson(META, header('c'), data({ code: 0 })), code: V, message: /Line 3.*message/ },
    { name: 'second pair: wrong module', body: ndjson(META, header('c'), ok(), header('d', { module: 'fim' }), ok()), code: V, message: /Line 4/ },
    { name: 'header id too long', body: ndjson(META, header('c'.repeat(257)), ok()), code: V, message: /Line 2.*id/ },
    { name: 'message longer than 64 KiB', body: ndjson(META, header('c'), ok(0, 'm'.repeat(65_537))), code: V, message: /Line 3.*longer/ },
    {
      name: 'more than 1000 results',
      body: ndjson(META, ...Array.from({ length: 1001 }, (_, i) => [header(`c${i}`), ok()]).flat()),
      code: V,
      message: /At most 1000/,
    },
    { name: 'second pair: bad result', body: ndjson(META, header('c'), ok(), header('d'), ok('1')), code: V, message: /Line 5/ },
  ];
  for (const c of cases) {
    test(`${c.name} -> ${c.code}`, () => throwsCoded(c.body, c.code, 400, c.message));
  }
});
