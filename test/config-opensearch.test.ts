// The OpenSearch store's and the indexer poller's options.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { envName, loadConfig, redactedConfig, type ConfigSources } from '../src/config.js';
import { CourierError } from '../src/errors.js';

const load = (sources: ConfigSources = {}) => loadConfig({ env: {}, cwd: '/srv/courier', ...sources });

describe('OpenSearch options', () => {
  test('defaults: the embedded store, a 1 s poll, 1000-document pages, a 30 s re-scan, a 60 s claim lease', () => {
    const config = load();
    assert.equal(config.opensearch, undefined);
    assert.equal(config.opensearchSkipTlsVerify, false);
    assert.equal(config.opensearchIndexPrefix, '');
    assert.equal(config.pollInterval, 1000);
    assert.equal(config.pollPageSize, 1000);
    assert.equal(config.rescanInterval, 30_000);
    assert.equal(config.claimLease, 60_000);
  });

  test('the cluster URL comes from --opensearch or COURIER_OPENSEARCH_URL', () => {
    assert.equal(envName('opensearch'), 'COURIER_OPENSEARCH_URL');
    assert.equal(load({ env: { COURIER_OPENSEARCH_URL: 'https://indexer:9200' } }).opensearch, 'https://indexer:9200');
    assert.equal(load({ flags: { opensearch: 'http://127.0.0.1:9200' }, env: { COURIER_OPENSEARCH_URL: 'https://x:9200' } }).opensearch, 'http://127.0.0.1:9200');
    assert.throws(
      () => load({ flags: { opensearch: 'indexer:9200' } }),
      (e: unknown) => e instanceof CourierError && /--opensearch: "indexer:9200" is not an http\(s\) URL/.test(e.message),
    );
  });

  test('credentials and TLS: user, password (never logged), CA file (resolved), skip-verify', () => {
    const config = load({
      env: {
        COURIER_OPENSEARCH_USERNAME: 'courier',
        COURIER_OPENSEARCH_PASSWORD: 's3cret',
        COURIER_OPENSEARCH_CA: 'certs/root-ca.pem',
        COURIER_OPENSEARCH_SKIP_TLS_VERIFY: 'true',
      },
    });
    assert.equal(config.opensearchUsername, 'courier');
    assert.equal(config.opensearchPassword, 's3cret');
    assert.equal(config.opensearchCa, '/srv/courier/certs/root-ca.pem');
    assert.equal(config.opensearchSkipTlsVerify, true);
    assert.equal(redactedConfig(config).opensearchPassword, '[redacted]');
    assert.ok(!JSON.stringify(redactedConfig(config)).includes('s3cret'));
  });

  test('poller options are durations and bounded sizes', () => {
    const config = load({ flags: { pollInterval: '250ms', rescanInterval: '2m', claimLease: '90s', pollPageSize: '500' } });
    assert.equal(config.pollInterval, 250);
    assert.equal(config.rescanInterval, 120_000);
    assert.equal(config.claimLease, 90_000);
    assert.equal(config.pollPageSize, 500);
    assert.throws(() => load({ flags: { pollPageSize: '20000' } }), /--poll-page-size: must be at most 10000/);
    assert.throws(() => load({ flags: { claimLease: '500ms' } }), /--claim-lease: must be at least 1000 ms/);
    assert.throws(() => load({ env: { COURIER_POLL_INTERVAL: 'often' } }), /COURIER_POLL_INTERVAL/);
  });
});
