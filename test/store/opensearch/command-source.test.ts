// How documents written by others (the Wazuh indexer plugin, operators, scripts) are read: courier's
// fields are derived from the Wazuh ones. Pure functions: no cluster needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandDocument, CommandState, CommandStatus } from '../../../src/domain/command.js';
import {
  changeSource,
  entryOf,
  isForeign,
  newCommandSource,
  normalizeStatus,
  readSource,
  stateFromSource,
  statusOf,
  type CommandSource,
} from '../../../src/store/opensearch/command-source.js';
import { auditCommandFields } from '../../../src/store/opensearch/audit-command-fields.js';
import { compareVersions, parseVersion, VersionBook } from '../../../src/store/opensearch/version-book.js';

const version = { primaryTerm: 1, seqNo: 7 };
const now = Date.parse('2025-03-01T10:00:00Z');

function plugin(command: Record<string, unknown>, extra: Partial<CommandSource> = {}): CommandSource {
  return {
    '@timestamp': '2025-03-01T09:59:00Z',
    delivery_timestamp: '2025-03-01T10:00:40Z',
    agent: { groups: ['default', 'linux'] },
    command: {
      source: 'Users/Services',
      user: 'admin',
      target: { type: 'agent', id: 'agent-1' },
      action: { name: 'restart', args: {}, version: '5.0.0' },
      timeout: 100,
      status: 'pending',
      request_id: 'req',
      order_id: 'ord',
      ...command,
    },
    ...extra,
  };
}

describe('documents written by the Wazuh plugin', () => {
  test('a pending agent command: route, deadline and order fields are derived', () => {
    const source = plugin({});
    const state = stateFromSource('doc-1', source, version, now)!;
    assert.equal(isForeign(source), true);
    assert.equal(state.status, 'pending');
    assert.equal(state.doc.document_id, 'doc-1');
    assert.equal(state.doc.route, 'agent:agent-1');
    assert.equal(state.doc.agent.id, 'agent-1');
    assert.deepEqual(state.doc.agent.groups, ['default', 'linux']);
    // Dates are given back in one canonical form, whatever form the writer used.
    assert.equal(state.doc['@timestamp'], '2025-03-01T09:59:00.000Z');
    assert.equal(Date.parse(state.doc.delivery_timestamp), Date.parse('2025-03-01T10:00:40Z'));
    assert.equal(state.doc.seq, 0);
    assert.equal(state.attempts, 0);
    assert.equal(state.claim, null);
    assert.equal(state.result, null);
    assert.equal(state.version, '1:7');
  });

  test('without delivery_timestamp, the deadline is @timestamp + timeout', () => {
    const source = plugin({ timeout: 30 });
    delete source.delivery_timestamp;
    const state = stateFromSource('doc-2', source, version, now)!;
    assert.equal(Date.parse(state.doc.delivery_timestamp), Date.parse('2025-03-01T09:59:30Z'));
  });

  test('a server target is routed to its component', () => {
    const state = stateFromSource('doc-3', plugin({ target: { type: 'server', id: 'rbac' } }), version, now)!;
    assert.equal(state.doc.route, 'server:rbac');
    assert.equal(state.doc.agent.id, null);
  });

  test('an expanded group document goes to its agent; an unexpanded one to a route nobody serves', () => {
    const expanded = stateFromSource('doc-4', plugin({ target: { type: 'group', id: 'linux' } }, { agent: { id: 'agent-9', groups: ['linux'] } }), version, now)!;
    assert.equal(expanded.doc.route, 'agent:agent-9');
    const unexpanded = stateFromSource('doc-5', plugin({ target: { type: 'group', id: 'linux' } }), version, now)!;
    assert.equal(unexpanded.doc.route, 'group:linux');
  });

  test('the early plugin format (target id as a string, its type beside it) is read', () => {
    const state = stateFromSource('doc-6', plugin({ target: 'agent-2', type: 'agent' }), version, now)!;
    assert.deepEqual(state.doc.command.target, { type: 'agent', id: 'agent-2' });
    assert.equal(state.doc.route, 'agent:agent-2');
  });

  test('status drift: failed, upper case and arrays are understood; unknown words are not commands', () => {
    assert.equal(normalizeStatus('failed'), 'failure');
    assert.equal(normalizeStatus('PENDING'), 'pending');
    assert.equal(normalizeStatus(['sent']), 'sent');
    assert.equal(normalizeStatus(['pending', 'sent']), 'sent');
    assert.equal(normalizeStatus('queued'), null);
    assert.equal(normalizeStatus(undefined), null);
    assert.equal(stateFromSource('doc-7', plugin({ status: 'queued' }), version, now), null);
    assert.equal(stateFromSource('doc-8', { '@timestamp': '2025-03-01T09:59:00Z' }, version, now), null);
  });

  test('a result written by a Wazuh server is read back', () => {
    const state = stateFromSource('doc-9', plugin({ status: 'success', result: { code: 0, message: 'done' } }), version, now)!;
    assert.equal(state.status, 'success');
    assert.deepEqual(state.result, { code: 0, message: 'done' });
  });

  test('dates written as epoch millis, numbers or numeric strings, read as the same instants, in canonical ISO', () => {
    const created = Date.parse('2025-11-28T18:40:00Z');
    for (const [at, deadline] of [
      [created, created + 100_000],
      [String(created), String(created + 100_000)],
      [created, String(created + 100_000)],
    ] as const) {
      const state = stateFromSource('doc-ms', plugin({}, { '@timestamp': at, delivery_timestamp: deadline }), version, now)!;
      assert.equal(state.doc['@timestamp'], '2025-11-28T18:40:00.000Z', `@timestamp ${JSON.stringify(at)}`);
      assert.equal(state.doc.delivery_timestamp, '2025-11-28T18:41:40.000Z', `delivery_timestamp ${JSON.stringify(deadline)}`);
    }
    // Without delivery_timestamp, the deadline is derived from an epoch-millis @timestamp too.
    const derived = plugin({ timeout: 30 }, { '@timestamp': String(created) });
    delete derived.delivery_timestamp;
    assert.equal(Date.parse(stateFromSource('doc-ms2', derived, version, now)!.doc.delivery_timestamp), created + 30_000);
    // courier's own fields, as numeric strings (an operator's script may write them so).
    const courier = {
      route: 'agent:agent-1',
      seq: 3,
      delivered_at: String(created),
      execution_deadline: String(created + 5000),
      attempts: 1,
      claim: { node: 'n1', until: String(created + 1000) },
    };
    const sent = stateFromSource('doc-ms3', plugin({ status: 'delivered' }, { courier }), version, now)!;
    assert.equal(sent.deliveredAt, created);
    assert.equal(sent.executionDeadline, created + 5000);
    assert.deepEqual(sent.claim, { node: 'n1', until: created + 1000 });
  });

  test('a document with a date courier cannot read is rejected, with the reason', () => {
    const cases: [Partial<CommandSource>, RegExp][] = [
      [{ '@timestamp': 'yesterday' }, /^@timestamp is not a date: "yesterday"$/],
      [{ delivery_timestamp: 'soon' }, /^delivery_timestamp is not a date/],
      [{ delivery_timestamp: '99999999999999999' }, /^delivery_timestamp is not a date/], // beyond what a Date holds
      [{ courier: { claim: { node: 'n1', until: 'later' } } }, /^courier\.claim\.until is not a date/],
    ];
    for (const [extra, reason] of cases) {
      const reading = readSource('doc-bad', plugin({}, extra), version, now);
      assert.equal(reading.state, null, JSON.stringify(extra));
      assert.match(reading.rejected, reason);
    }
    assert.match(readSource('doc-bad', plugin({ status: 'queued' }), version, now).rejected!, /unknown command\.status "queued"/);
    assert.equal(readSource('doc-bad', { '@timestamp': '2025-03-01T09:59:00Z' }, version, now).rejected, 'no command object');
  });

  test('sent without a courier claim reads as unclaimed (a Wazuh server claims nothing)', () => {
    const state = stateFromSource('doc-10', plugin({ status: 'sent' }), version, now)!;
    assert.equal(state.status, 'sent');
    assert.equal(state.claim, null);
  });
});

const doc: CommandDocument = {
  document_id: 'c-1',
  '@timestamp': '2025-03-01T09:59:00.000Z',
  delivery_timestamp: '2025-03-01T10:00:40.000Z',
  agent: { id: 'agent-1', groups: [] },
  command: {
    source: 'Users/Services',
    target: { type: 'agent', id: 'agent-1' },
    action: { name: 'restart', args: { a: 1 }, version: '5.0.0' },
    timeout: 100,
    request_id: 'req',
    order_id: 'ord',
  },
  route: 'agent:agent-1',
  seq: 42,
};

describe('documents written by courier', () => {
  test('a created document reads back as the same command, pending', () => {
    const source = newCommandSource(doc, now);
    assert.equal(isForeign(source), false);
    const state = stateFromSource('c-1', source, version, now)!;
    assert.deepEqual(state.doc, doc);
    assert.equal(state.status, 'pending');
  });

  test('a change writes status, result and claim; reading it back gives them', () => {
    const source = newCommandSource(doc, now);
    const entry = entryOf(doc, version);
    const claim = { node: 'n1', until: now + 60_000 };
    const update = changeSource(
      {
        document_id: 'c-1',
        seq: 42,
        status: 'sent',
        result: null,
        deliveredAt: null,
        executionDeadline: null,
        attempts: 1,
        claim,
        audit: { document_id: 'c-1', from: 'pending', to: 'sent', cause: 'claimed', at: now, node: 'n1', actor: 'agent:agent-1' },
      },
      entry,
      false,
    );
    const merged: CommandSource = { ...source, command: { ...source.command, ...update.command }, courier: update.courier! };
    const state = stateFromSource('c-1', merged, { primaryTerm: 1, seqNo: 9 }, now) as CommandState;
    assert.equal(state.status, 'sent');
    assert.deepEqual(state.claim, claim);
    assert.equal(state.attempts, 1);
    assert.equal(state.doc.seq, 42);
  });

  test('structured result data is stored as JSON text where the index maps it as a keyword', () => {
    const entry = entryOf(doc, version);
    const change = {
      document_id: 'c-1',
      seq: 42,
      status: 'success' as const,
      result: { code: 0, message: 'ok', data: { files: 3 } },
      deliveredAt: now,
      executionDeadline: now + 1,
      attempts: 1,
      claim: null,
      audit: { document_id: 'c-1', from: 'delivered' as const, to: 'success' as const, cause: 'result', at: now, node: 'n1', actor: 'agent:agent-1' },
    };
    assert.deepEqual(changeSource(change, entry, false).command!.result, { code: 0, message: 'ok', data: { files: 3 } });
    assert.deepEqual(changeSource(change, entry, true).command!.result, { code: 0, message: 'ok', data: '{"files":3}' });
  });
});

describe("Wazuh's words in command.status, courier's status beside them", () => {
  const change = (status: CommandStatus) =>
    changeSource(
      {
        document_id: 'c-1',
        seq: 42,
        status,
        result: null,
        deliveredAt: null,
        executionDeadline: null,
        attempts: 1,
        claim: null,
        audit: { document_id: 'c-1', from: 'sent', to: status, cause: 'deadline', at: now, node: 'n1', actor: 'courier' },
      },
      entryOf(doc, version),
      false,
    );
  const withChange = (status: CommandStatus): CommandSource => {
    const source = newCommandSource(doc, now);
    const update = change(status);
    return { ...source, command: { ...source.command, ...update.command }, courier: update.courier! };
  };

  test('every status is written as the word of the plugin enum, literally, and read back as courier wrote it', () => {
    assert.equal(newCommandSource(doc, now).command!.status, 'PENDING');
    const expected: Record<CommandStatus, string> = {
      pending: 'PENDING',
      sent: 'SENT',
      delivered: 'SENT',
      success: 'SUCCESS',
      failure: 'FAILURE',
      timed_out: 'FAILURE',
      cancelled: 'FAILURE',
    };
    for (const [status, word] of Object.entries(expected) as [CommandStatus, string][]) {
      const source = withChange(status);
      assert.equal(source.command!.status, word, status);
      assert.equal(source.courier!.status, status);
      assert.equal(statusOf(source), status);
    }
  });

  test("someone else's change of command.status wins: the plugin's expiry job writing FAILURE over PENDING is a failure", () => {
    const source = newCommandSource(doc, now);
    assert.equal(statusOf(source), 'pending');
    assert.equal(statusOf({ ...source, command: { ...source.command, status: 'FAILURE' } }), 'failure');
    // Documents courier wrote before it kept its own status: command.status as it is.
    const { status: _status, ...older } = source.courier!;
    assert.equal(statusOf({ ...source, command: { ...source.command, status: 'timed_out' }, courier: older }), 'timed_out');
  });
});

describe('versions', () => {
  test('a newer primary term outranks any sequence number of an older one', () => {
    assert.ok(compareVersions({ primaryTerm: 2, seqNo: 0 }, { primaryTerm: 1, seqNo: 100 }) > 0);
    assert.ok(compareVersions({ primaryTerm: 1, seqNo: 5 }, { primaryTerm: 1, seqNo: 4 }) > 0);
    assert.equal(compareVersions({ primaryTerm: 1, seqNo: 4 }, { primaryTerm: 1, seqNo: 4 }), 0);
    assert.deepEqual(parseVersion('3:14'), { primaryTerm: 3, seqNo: 14 });
    assert.equal(parseVersion(undefined), null);
    assert.equal(parseVersion('x'), null);
  });

  test('the book tells what is news: unknown ids and newer versions only', () => {
    const book = new VersionBook();
    assert.equal(book.isNewer('a', { primaryTerm: 1, seqNo: 1 }), true);
    book.set('a', { primaryTerm: 1, seqNo: 5, route: 'agent:x', seq: 0, command: auditCommandFields(doc) });
    assert.equal(book.isNewer('a', { primaryTerm: 1, seqNo: 5 }), false);
    assert.equal(book.isNewer('a', { primaryTerm: 1, seqNo: 4 }), false);
    assert.equal(book.isNewer('a', { primaryTerm: 1, seqNo: 6 }), true);
    book.forget('a');
    assert.equal(book.isNewer('a', { primaryTerm: 1, seqNo: 1 }), true);
  });
});
