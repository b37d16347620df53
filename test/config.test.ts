import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configFrom, defaultWorkers, envName, loadConfig, type ConfigSources } from '../src/config.js';
import { parseDuration } from '../src/config-values.js';
import { CourierError } from '../src/errors.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'courier-config-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a config file in the temp dir; returns its path. */
function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** loadConfig with an empty environment unless one is given, resolved against the temp dir. */
function load(sources: ConfigSources = {}) {
  return loadConfig({ env: {}, cwd: dir, ...sources });
}

function assertConfigError(fn: () => unknown, ...mentions: (string | RegExp)[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CourierError, `expected a CourierError, got ${String(error)}`);
    assert.equal(error.code, 'COURIER_ERR_CONFIG');
    for (const m of mentions) {
      if (typeof m === 'string') assert.ok(error.message.includes(m), `message ${JSON.stringify(error.message)} should mention ${m}`);
      else assert.match(error.message, m);
    }
    return true;
  });
}

describe('defaults', () => {
  test('every option has its default when no source sets it', () => {
    const config = load();
    assert.equal(config.port, 27000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.longPollTimeout, 300_000);
    assert.equal(config.executionTimeout, 600_000);
    assert.equal(config.dataDir, resolve(dir, 'data'));
    assert.equal(config.logLevel, 'info');
    assert.equal(config.logFormat, 'auto');
    assert.equal(config.sync, 'normal');
    assert.equal(config.bodyLimit, 1_048_576);
    assert.equal(config.maxCommandsPerDelivery, 100);
    assert.equal(config.requestTimeout, 30_000);
    assert.equal(config.maxUnauthenticatedPerAddress, 128);
    assert.equal(config.wsMaxInFlight, 1000);
    assert.equal(config.wsMaxBufferedBytes, 1_048_576);
    assert.equal(config.wsStallTimeout, 60_000);
    assert.equal(config.workers, defaultWorkers(availableParallelism()));
    assert.equal(typeof config.node, 'string');
    assert.ok(config.node.length > 0);
  });

  test('connection workers: the cores less one, at least 1, at most 64', () => {
    assert.deepEqual(
      [1, 2, 3, 8, 16, 65, 200].map((cores) => defaultWorkers(cores)),
      [1, 1, 2, 7, 15, 64, 64],
    );
  });

  test('socket defaults to <data-dir>/courier.sock, following the data dir', () => {
    assert.equal(load().socket, join(resolve(dir, 'data'), 'courier.sock'));
    assert.equal(load({ flags: { dataDir: 'elsewhere' } }).socket, join(dir, 'elsewhere', 'courier.sock'));
    assert.equal(load({ env: { COURIER_DATA_DIR: '/var/lib/courier' } }).socket, '/var/lib/courier/courier.sock');
    assert.equal(load({ flags: { dataDir: 'x', socket: 'admin.sock' } }).socket, join(dir, 'admin.sock'));
  });

  test('environment variable names', () => {
    assert.equal(envName('port'), 'COURIER_PORT');
    assert.equal(envName('longPollTimeout'), 'COURIER_LONG_POLL_TIMEOUT');
    assert.equal(envName('dataDir'), 'COURIER_DATA_DIR');
  });
});

describe('precedence: flag > env > file > default', () => {
  const cases: {
    key: 'port' | 'longPollTimeout' | 'dataDir';
    flag: string;
    env: string;
    file: unknown;
    /** The value expected from each source (dataDir: resolved against cwd). */
    expect: () => { flag: unknown; env: unknown; file: unknown; default: unknown };
  }[] = [
    { key: 'port', flag: '3333', env: '2222', file: 1111, expect: () => ({ flag: 3333, env: 2222, file: 1111, default: 27000 }) },
    {
      key: 'longPollTimeout',
      flag: '30s',
      env: '5m',
      file: 45,
      expect: () => ({ flag: 30_000, env: 300_000, file: 45_000, default: 300_000 }),
    },
    {
      key: 'dataDir',
      flag: 'from-flag',
      env: 'from-env',
      file: 'from-file',
      expect: () => ({ flag: join(dir, 'from-flag'), env: join(dir, 'from-env'), file: join(dir, 'from-file'), default: join(dir, 'data') }),
    },
  ];
  for (const c of cases) {
    test(c.key, () => {
      const file = configFile(`precedence-${c.key}.json`, { [c.key]: c.file });
      const env = { [envName(c.key)]: c.env };
      const flags = { [c.key]: c.flag };
      const value = (sources: ConfigSources) => load(sources)[c.key];
      const expected = c.expect();
      assert.equal(value({ flags, env, file }), expected.flag);
      assert.equal(value({ env, file }), expected.env);
      assert.equal(value({ file }), expected.file);
      assert.equal(value({}), expected.default);
      // The file may also be named by COURIER_CONFIG.
      assert.equal(value({ env: { COURIER_CONFIG: file } }), expected.file);
      assert.equal(value({ env: { COURIER_CONFIG: file, ...env } }), expected.env);
    });
  }

  test('options are independent: each comes from its own highest source', () => {
    const file = configFile('mixed.json', { port: 1111, longPollTimeout: '2m', executionTimeout: 20 });
    const config = load({ file, env: { COURIER_LONG_POLL_TIMEOUT: '90' }, flags: { executionTimeout: '750ms' } });
    assert.equal(config.port, 1111);
    assert.equal(config.longPollTimeout, 90_000);
    assert.equal(config.executionTimeout, 750);
  });

  test('a YAML file (.yaml, .yml) is read as the JSON one is, its errors named', () => {
    const yaml = configFile('courier.yaml', 'port: 4444\nlongPollTimeout: 2m\ntlsHosts:\n  - courier.example\n  - 10.0.0.5\ninsecureHttp: true\n');
    const config = load({ file: yaml });
    assert.equal(config.port, 4444);
    assert.equal(config.longPollTimeout, 120_000);
    assert.deepEqual(config.tlsHosts, ['courier.example', '10.0.0.5']);
    assert.equal(config.insecureHttp, true);
    assert.equal(load({ file: configFile('short.yml', 'port: 4445\n') }).port, 4445);
    assert.throws(() => load({ file: configFile('typo.yaml', 'prot: 1\n') }), /unknown key "prot" in .*typo\.yaml/);
    assert.throws(() => load({ file: configFile('list.yaml', '- port\n') }), /list\.yaml must hold an object \(a mapping\) of options/);
    assert.throws(() => load({ file: configFile('broken.yaml', 'port: [1\n') }), /cannot read config file .*broken\.yaml/);
    // The name says JSON: a YAML text there is not taken for JSON.
    assert.throws(() => load({ file: configFile('yaml-in.json', 'port: 1\n') }), /cannot read config file .*yaml-in\.json/);
  });

  test('an explicit file wins over COURIER_CONFIG', () => {
    const a = configFile('a.json', { port: 1001 });
    const b = configFile('b.json', { port: 1002 });
    assert.equal(load({ file: a, env: { COURIER_CONFIG: b } }).port, 1001);
  });
});

describe('durations', () => {
  test('parseDuration: ms, s, m, h, d and bare seconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('45'), 45_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(' 2m '), 120_000);
  });

  test('parseDuration refuses what is not a duration', () => {
    for (const text of ['', 'soon', '5 minutes', '-5s', '5w', 's', '1e3', '0x10']) {
      assert.throws(() => parseDuration(text), /not a duration/, JSON.stringify(text));
    }
  });

  test('every duration option reads every form from every source', () => {
    assert.equal(load({ flags: { longPollTimeout: '90' } }).longPollTimeout, 90_000);
    assert.equal(load({ env: { COURIER_LONG_POLL_TIMEOUT: '2m' } }).longPollTimeout, 120_000);
    assert.equal(load({ flags: { executionTimeout: '500ms' } }).executionTimeout, 500);
    assert.equal(load({ flags: { wsPingInterval: '500ms' } }).wsPingInterval, 500);
    // In the file, a number is seconds; a string is parsed as on the command line.
    assert.equal(load({ file: configFile('d1.json', { longPollTimeout: 30 }) }).longPollTimeout, 30_000);
    assert.equal(load({ file: configFile('d2.json', { longPollTimeout: '30s' }) }).longPollTimeout, 30_000);
    assert.equal(load({ file: configFile('d3.json', { executionTimeout: '500ms' }) }).executionTimeout, 500);
  });

  test('a long-poll timeout under 1 s is refused, naming its source', () => {
    assertConfigError(() => load({ flags: { longPollTimeout: '500ms' } }), '--long-poll-timeout');
    assertConfigError(() => load({ env: { COURIER_LONG_POLL_TIMEOUT: '500ms' } }), 'COURIER_LONG_POLL_TIMEOUT');
  });

  test('the connection limits read from every source; a request timeout under 1 s is refused', () => {
    assert.equal(load({ flags: { requestTimeout: '5s' } }).requestTimeout, 5000);
    assert.equal(load({ env: { COURIER_MAX_UNAUTHENTICATED_PER_ADDRESS: '16' } }).maxUnauthenticatedPerAddress, 16);
    assert.equal(load({ env: { COURIER_WS_MAX_IN_FLIGHT: '50' } }).wsMaxInFlight, 50);
    assert.equal(load({ file: configFile('limits.json', { wsMaxBufferedBytes: 65_536, wsStallTimeout: '2m' }) }).wsMaxBufferedBytes, 65_536);
    assert.equal(load({ file: configFile('stall.json', { wsStallTimeout: '2m' }) }).wsStallTimeout, 120_000);
    assertConfigError(() => load({ flags: { requestTimeout: '500ms' } }), '--request-timeout');
    assertConfigError(() => load({ flags: { maxUnauthenticatedPerAddress: '0' } }), '--max-unauthenticated-per-address');
  });

  test('a negative duration in the file is refused', () => {
    const file = configFile('negative.json', { executionTimeout: -5 });
    assertConfigError(() => load({ file }), 'executionTimeout');
  });
});

describe('invalid values: COURIER_ERR_CONFIG naming the source', () => {
  const cases: { name: string; sources: () => ConfigSources; mentions: (string | RegExp)[] }[] = [
    { name: '--port not a number', sources: () => ({ flags: { port: 'abc' } }), mentions: ['--port', 'abc'] },
    { name: '--port out of range', sources: () => ({ flags: { port: '65536' } }), mentions: ['--port'] },
    { name: '--port negative', sources: () => ({ flags: { port: '-1' } }), mentions: ['--port'] },
    { name: '--port fractional', sources: () => ({ flags: { port: '80.5' } }), mentions: ['--port'] },
    { name: 'COURIER_PORT out of range', sources: () => ({ env: { COURIER_PORT: '70000' } }), mentions: ['COURIER_PORT'] },
    { name: 'COURIER_PORT empty', sources: () => ({ env: { COURIER_PORT: '' } }), mentions: ['COURIER_PORT'] },
    { name: 'port in the file not a number', sources: () => ({ file: configFile('port.json', { port: 'eighty' }) }), mentions: [/port\.json:port/] },
    { name: 'port in the file a boolean', sources: () => ({ file: configFile('port-bool.json', { port: true }) }), mentions: [/port-bool\.json:port/] },
    { name: '--long-poll-timeout not a duration', sources: () => ({ flags: { longPollTimeout: 'soon' } }), mentions: ['--long-poll-timeout', 'soon'] },
    { name: 'COURIER_LONG_POLL_TIMEOUT not a duration', sources: () => ({ env: { COURIER_LONG_POLL_TIMEOUT: '5 minutes' } }), mentions: ['COURIER_LONG_POLL_TIMEOUT'] },
    {
      name: 'longPollTimeout in the file not a duration',
      sources: () => ({ file: configFile('lpt.json', { longPollTimeout: 'forever' }) }),
      mentions: [/lpt\.json:longPollTimeout/],
    },
    { name: '--data-dir empty', sources: () => ({ flags: { dataDir: '' } }), mentions: ['--data-dir'] },
    { name: 'COURIER_DATA_DIR empty', sources: () => ({ env: { COURIER_DATA_DIR: '' } }), mentions: ['COURIER_DATA_DIR'] },
    { name: 'dataDir in the file a number', sources: () => ({ file: configFile('dd.json', { dataDir: 5 }) }), mentions: [/dd\.json:dataDir/] },
    { name: '--body-limit zero', sources: () => ({ flags: { bodyLimit: '0' } }), mentions: ['--body-limit'] },
    { name: '--sync unknown', sources: () => ({ flags: { sync: 'sometimes' } }), mentions: ['--sync', 'sometimes'] },
    { name: 'COURIER_LOG_LEVEL unknown', sources: () => ({ env: { COURIER_LOG_LEVEL: 'loud' } }), mentions: ['COURIER_LOG_LEVEL', 'loud'] },
    { name: '--log-level unknown', sources: () => ({ flags: { logLevel: 'loud' } }), mentions: ['--log-level', 'loud'] },
    { name: '--log-format unknown', sources: () => ({ flags: { logFormat: 'yaml' } }), mentions: ['--log-format', 'yaml', 'auto, json, pretty'] },
    { name: 'COURIER_LOG_FORMAT unknown', sources: () => ({ env: { COURIER_LOG_FORMAT: 'text' } }), mentions: ['COURIER_LOG_FORMAT', 'text'] },
    { name: 'logFormat in the file unknown', sources: () => ({ file: configFile('lf.json', { logFormat: 'color' }) }), mentions: [/lf\.json:logFormat/, 'color'] },
  ];
  for (const c of cases) {
    test(c.name, () => assertConfigError(() => load(c.sources()), ...c.mentions));
  }

  test('a flag overrides a bad env value (only the value used is checked)', () => {
    assert.equal(load({ flags: { port: '1234' }, env: { COURIER_PORT: 'nope' } }).port, 1234);
  });
});

describe('the log format', () => {
  test('auto, json or pretty, from a flag, COURIER_LOG_FORMAT or the file', () => {
    assert.equal(load({ flags: { logFormat: 'pretty' }, env: { COURIER_LOG_FORMAT: 'json' } }).logFormat, 'pretty');
    assert.equal(load({ env: { COURIER_LOG_FORMAT: 'json' } }).logFormat, 'json');
    assert.equal(load({ file: configFile('log-format.json', { logFormat: 'pretty' }) }).logFormat, 'pretty');
    assert.equal(load({ env: { COURIER_LOG_FORMAT: ' auto ' } }).logFormat, 'auto');
  });
});

describe('the config file', () => {
  test('unknown keys are refused, naming the key and the file', () => {
    const file = configFile('unknown.json', { port: 1, prot: 2 });
    assertConfigError(() => load({ file }), '"prot"', 'unknown.json');
  });

  test('keys are the config names, not the flag names', () => {
    const file = configFile('flag-names.json', { 'long-poll-timeout': '30s' });
    assertConfigError(() => load({ file }), 'long-poll-timeout');
  });

  test('a missing file is refused', () => {
    assertConfigError(() => load({ file: join(dir, 'nope.json') }), 'nope.json');
  });

  test('a file that is not JSON is refused', () => {
    assertConfigError(() => load({ file: configFile('broken.json', '{"port": ') }), 'broken.json');
  });

  for (const [name, content] of [
    ['null.json', 'null'],
    ['array.json', '[27000]'],
    ['string.json', '"port"'],
    ['number.json', '27000'],
  ] as const) {
    test(`a file that is JSON but not an object is refused: ${content}`, () => {
      assertConfigError(() => load({ file: configFile(name, content) }), name);
    });
  }

  test('a file path is resolved against cwd', () => {
    configFile('relative.json', { port: 4242 });
    assert.equal(load({ file: 'relative.json' }).port, 4242);
  });
});

describe('plugin modules (--plugin)', () => {
  test('a comma-separated list from the flag, COURIER_PLUGIN or the file, each resolved against cwd; none by default', () => {
    assert.deepEqual(load().plugin, []);
    assert.deepEqual(load({ flags: { plugin: './a.js, /opt/b.js' } }).plugin, [join(dir, 'a.js'), '/opt/b.js']);
    assert.deepEqual(load({ env: { COURIER_PLUGIN: 'c.js' } }).plugin, [join(dir, 'c.js')]);
    assert.deepEqual(load({ file: configFile('plugins.json', { plugin: ['d.js', 'e.js'] }) }).plugin, [join(dir, 'd.js'), join(dir, 'e.js')]);
  });
});

describe('configFrom (typed options, for a program embedding courier)', () => {
  test('fills in the defaults and derives what the command line derives', () => {
    const config = configFrom({ dataDir: 'd', port: 0 }, dir);
    assert.deepEqual(config, load({ flags: { dataDir: 'd', port: '0' } }));
  });

  test('takes a whole configuration as it is (the command line hands it one)', () => {
    const loaded = load({ flags: { dataDir: 'd', longPollTimeout: '5s', tlsHosts: 'a,b', plugin: 'p.js' } });
    assert.deepEqual(configFrom(loaded, '/elsewhere'), loaded);
  });

  test('checks each option as its flag is checked, durations in ms, and names it', () => {
    for (const [input, message] of [
      [{ port: 70_000 }, /port: "70000" is not a port/],
      [{ port: '1' }, /port: expected a port number/],
      [{ longPollTimeout: '5s' }, /longPollTimeout: expected a positive number of milliseconds/],
      [{ requestTimeout: 999 }, /requestTimeout: must be at least 1000 ms/],
      [{ insecureHttp: 'yes' }, /insecureHttp: expected true or false/],
      [{ plugin: 'a.js' }, /plugin: expected an array of non-empty strings/],
      [{ sync: 'sometimes' }, /sync: "sometimes" is not one of normal, full/],
      [{ opensearch: 'ftp://x' }, /opensearch: "ftp:\/\/x" is not an http\(s\) URL/],
      [{ dataDirectory: 'x' }, /unknown option "dataDirectory"/],
    ] as const) {
      assert.throws(
        () => configFrom(input as never, dir),
        (error: unknown) => error instanceof CourierError && error.code === 'COURIER_ERR_CONFIG' && message.test(error.message),
        JSON.stringify(input),
      );
    }
    assert.equal(configFrom({ longPollTimeout: 1500 }, dir).longPollTimeout, 1500);
  });
});
