import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandDocument } from '../../src/domain/command.js';
import type { CommandStore, StatusChange, WriteBatch, WriteOutcome } from '../../src/store/store.js';
import type { TransitionRecord } from '../../src/store/records.js';
import { CreatesPartlyFailed, WriteBatcher, type WriteBatcherOptions } from '../../src/runtime/write-batcher.js';
import { CourierError, errors } from '../../src/errors.js';

/** The store itself failing (as opposed to refusing what it is asked to write). */
const down = (what: string) => errors.STORE_UNAVAILABLE(what);

/** A fake store: only `commit` matters. Records every batch; can fail or hold a commit. */
class FakeStore {
  readonly commits: { creates: string[]; changes: string[] }[] = [];
  /** The commits that did not throw. */
  readonly written: { creates: string[]; changes: string[] }[] = [];
  /** Failures to throw, one per commit, before succeeding. */
  failures: Error[] = [];
  /** When set, each commit waits for it. */
  gate: Promise<void> | null = null;
  /** Called synchronously inside every commit, before it settles. */
  onCommit: ((n: number) => void) | null = null;
  /** ids already present: their create reports false. */
  existing = new Set<string>();
  /** For the next commit only: creates (by id) and changes (by cause) not written, while the rest is. */
  partly: { creates: string[]; changes: string[] } | null = null;
  /** Creates (by id) and changes (by cause) the store cannot write: a commit holding any throws, writing nothing (as a value too deep to serialize does). */
  poison = new Set<string>();

  async commit(batch: WriteBatch): Promise<WriteOutcome> {
    this.commits.push({ creates: batch.creates.map((c) => c.doc.document_id), changes: batch.changes.map((c) => c.audit.cause) });
    this.onCommit?.(this.commits.length);
    if (this.gate) await this.gate;
    const failure = this.failures.shift();
    if (failure) throw failure;
    if ([...batch.creates.map((c) => c.doc.document_id), ...batch.changes.map((c) => c.audit.cause)].some((k) => this.poison.has(k))) {
      throw new RangeError('Maximum call stack size exceeded');
    }
    this.written.push(this.commits.at(-1)!);
    const partly = this.partly;
    this.partly = null;
    const failed = { creates: new Map<number, unknown>(), changes: new Map<number, unknown>() };
    const created = batch.creates.map((c, i) => {
      if (partly?.creates.includes(c.doc.document_id)) {
        failed.creates.set(i, new Error(`refused ${c.doc.document_id}`));
        return false;
      }
      if (this.existing.has(c.doc.document_id)) return false;
      this.existing.add(c.doc.document_id);
      return true;
    });
    batch.changes.forEach((c, i) => {
      if (partly?.changes.includes(c.audit.cause)) failed.changes.set(i, down(`busy ${c.audit.cause}`));
    });
    return { created, changes: batch.changes.map(() => 'ok' as const), ...(partly ? { failed } : {}) };
  }
}

function batcher(store: FakeStore, options: Partial<WriteBatcherOptions> = {}): WriteBatcher {
  return new WriteBatcher(store as unknown as CommandStore, { maxBatch: 100, retryDelayMs: () => 0, ...options });
}

const audit = (id: string, cause: string): TransitionRecord => ({ document_id: id, from: null, to: 'pending', cause, at: 0, node: 'n', actor: 'test' });
const item = (id: string) => ({ doc: { document_id: id } as CommandDocument, audit: audit(id, 'created') });
/** A status change, told apart in the fake store by its `cause`. */
const change = (name: string): StatusChange => ({
  document_id: 'cmd',
  seq: 1,
  status: 'sent',
  claim: null,
  result: null,
  deliveredAt: null,
  executionDeadline: null,
  attempts: 1,
  audit: audit('cmd', name),
});

function deferred() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Lets pending callbacks (immediates, promise jobs) run a few times. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('WriteBatcher', () => {
  test('writes requested in the same tick go into one commit, in order', async () => {
    const store = new FakeStore();
    const w = batcher(store);
    const results = await Promise.all([w.create([item('a'), item('b')]), w.change(change('x')), w.create([item('c')]), w.change(change('y'))]);
    assert.deepEqual(store.commits, [{ creates: ['a', 'b', 'c'], changes: ['x', 'y'] }]);
    assert.deepEqual(results, [[true, true], 'ok', [true], 'ok']);
  });

  test('each create resolves per command: false when its id already existed', async () => {
    const store = new FakeStore();
    store.existing.add('old');
    const w = batcher(store);
    const [first, second] = await Promise.all([w.create([item('new'), item('old')]), w.create([item('other')])]);
    assert.deepEqual(first, [true, false]);
    assert.deepEqual(second, [true]);
  });

  test('writes requested while a commit runs go into the next one', async () => {
    const store = new FakeStore();
    const gate = deferred();
    store.gate = gate.promise;
    const w = batcher(store);
    const first = w.change(change('x'));
    await turns();
    assert.equal(store.commits.length, 1);
    const later = [w.change(change('y')), w.change(change('z'))];
    await turns();
    assert.equal(store.commits.length, 1, 'a second commit started while the first was running');
    store.gate = null;
    gate.open();
    await Promise.all([first, ...later]);
    assert.deepEqual(
      store.commits.map((c) => c.changes),
      [['x'], ['y', 'z']],
    );
  });

  test('with a commit interval, writes requested in different turns after a commit wait for the next one together', async () => {
    const store = new FakeStore();
    // Long enough that the writes below, a few turns apart, are all requested before it ends.
    const w = batcher(store, { commitIntervalMs: 1000 });
    await w.change(change('x')); // the first commit starts at once: nothing came before it
    const later = [w.change(change('y'))];
    await turns();
    later.push(w.change(change('z')));
    await turns();
    assert.equal(store.commits.length, 1, 'a commit started before the interval was over');
    await Promise.all(later);
    assert.deepEqual(
      store.commits.map((c) => c.changes),
      [['x'], ['y', 'z']],
    );
  });

  test('with a commit interval, writes that queued during a commit longer than it follow at once', async () => {
    const store = new FakeStore();
    const gate = deferred();
    store.gate = gate.promise;
    const w = batcher(store, { commitIntervalMs: 50 });
    const first = w.change(change('x'));
    await turns();
    const later = w.change(change('y'));
    // The first commit outlasts the interval: the next one does not wait again.
    await new Promise((resolve) => setTimeout(resolve, 60));
    store.gate = null;
    gate.open();
    await first;
    await turns();
    assert.equal(store.commits.length, 2, 'the second commit waited though the interval was over');
    await later;
    assert.deepEqual(
      store.commits.map((c) => c.changes),
      [['x'], ['y']],
    );
  });

  test('the creates of one call are never split across commits, even above maxBatch', async () => {
    const store = new FakeStore();
    const w = batcher(store, { maxBatch: 2 });
    const units = [['a1', 'a2', 'a3'], ['b1'], ['c1', 'c2'], ['d1'], ['e1']];
    await Promise.all(units.map((ids) => w.create(ids.map(item))));
    // Every unit is contiguous inside exactly one commit.
    for (const unit of units) {
      const holding = store.commits.filter((c) => unit.some((id) => c.creates.includes(id)));
      assert.equal(holding.length, 1, `unit ${unit.join(',')} was split: ${JSON.stringify(store.commits)}`);
      const creates = holding[0]!.creates;
      const at = creates.indexOf(unit[0]!);
      assert.deepEqual(creates.slice(at, at + unit.length), unit);
    }
    // Order is kept, and a commit exceeds maxBatch only when it is a single unit.
    assert.deepEqual(
      store.commits.flatMap((c) => c.creates),
      units.flat(),
    );
    for (const c of store.commits) {
      if (c.creates.length > 2) assert.ok(units.some((u) => u.length === c.creates.length && u.every((id) => c.creates.includes(id))));
    }
  });

  test('status changes fill the room creates leave, in order, and the rest follows', async () => {
    const store = new FakeStore();
    const w = batcher(store, { maxBatch: 3 });
    await Promise.all([w.create([item('a'), item('b')]), w.change(change('x')), w.change(change('y')), w.change(change('z'))]);
    assert.deepEqual(
      store.commits.flatMap((c) => c.changes),
      ['x', 'y', 'z'],
    );
    assert.ok(store.commits.every((c) => c.creates.length + c.changes.length <= 3));
    assert.deepEqual(store.commits[0], { creates: ['a', 'b'], changes: ['x'] });
  });

  test('a failing commit rejects its creates and retries its changes, in order', async () => {
    const store = new FakeStore();
    const failure = down('disk I/O error');
    store.failures = [failure];
    const w = batcher(store);
    // A change requested while the failing commit runs must come after the retried ones.
    let late: Promise<'ok' | 'conflict'> | undefined;
    store.onCommit = (n) => {
      if (n === 1) late = w.change(change('z'));
    };
    const created = w.create([item('a')]);
    const changes = [w.change(change('x')), w.change(change('y'))];
    await assert.rejects(created, (e) => e === failure);
    assert.deepEqual(await Promise.all(changes), ['ok', 'ok']);
    assert.ok(late);
    assert.equal(await late, 'ok');
    assert.deepEqual(store.commits[0], { creates: ['a'], changes: ['x', 'y'] });
    assert.deepEqual(
      store.commits.slice(1).flatMap((c) => c.changes),
      ['x', 'y', 'z'],
    );
    assert.ok(
      store.commits.slice(1).every((c) => !c.creates.includes('a')),
      'a rejected create was written anyway',
    );
  });

  test('a commit written in part settles each write for itself: only what failed is retried or rejected', async () => {
    const store = new FakeStore();
    store.partly = { creates: ['b2'], changes: ['y'] };
    const health: boolean[] = [];
    const w = batcher(store, { onHealthChange: (healthy) => health.push(healthy) });
    const whole = w.create([item('a1')]);
    const partial = w.create([item('b1'), item('b2')]);
    const refused = w.create([item('c1')]);
    const settled: string[] = [];
    const changes = ['x', 'y', 'z'].map((name) => w.change(change(name)).then((outcome) => (settled.push(name), outcome)));
    store.partly.creates.push('c1');

    assert.deepEqual(await whole, [true]);
    await assert.rejects(partial, (error) => {
      // b1 was written: the caller is told so, and why b2 was not.
      assert.ok(error instanceof CreatesPartlyFailed);
      assert.deepEqual(error.created, [true, false]);
      assert.match(String((error.error as Error).message), /refused b2/);
      return true;
    });
    await assert.rejects(refused, /refused c1/); // none of it written: the plain error
    assert.deepEqual(await Promise.all(changes), ['ok', 'ok', 'ok']);
    // x and z were settled by the first commit; only y was written again, alone.
    assert.deepEqual(settled, ['x', 'z', 'y']);
    assert.deepEqual(store.commits, [
      { creates: ['a1', 'b1', 'b2', 'c1'], changes: ['x', 'y', 'z'] },
      { creates: [], changes: ['y'] },
    ]);
    assert.deepEqual(health, [false, true]);
  });

  test('changes are retried as long as commits fail, with the configured back-off', async () => {
    const store = new FakeStore();
    store.failures = [down('1'), down('2'), down('3')];
    const attempts: number[] = [];
    const w = batcher(store, { retryDelayMs: (attempt) => (attempts.push(attempt), 0) });
    assert.equal(await w.change(change('x')), 'ok');
    assert.equal(store.commits.length, 4);
    assert.deepEqual(
      store.commits.map((c) => c.changes),
      [['x'], ['x'], ['x'], ['x']],
    );
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  test('a write the store refuses is isolated: its caller gets the error, every other write of the batch commits, nothing is retried', async () => {
    const store = new FakeStore();
    store.poison.add('deep-result');
    const refusals: string[][] = [];
    const health: boolean[] = [];
    const w = batcher(store, { onRefused: (_error, ids) => refusals.push(ids), onHealthChange: (healthy) => health.push(healthy) });
    const before = [w.create([item('a')]), w.change(change('x'))];
    const poisoned = w.change(change('deep-result'));
    const after = [w.create([item('b'), item('c')]), w.change(change('y')), w.change(change('z'))];

    await assert.rejects(poisoned, (error) => error instanceof CourierError && error.code === 'COURIER_ERR_STORE_REJECTED' && /Maximum call stack/.test(error.message));
    assert.deepEqual(await Promise.all([...before, ...after]), [[true], 'ok', [true, true], 'ok', 'ok']);
    await w.barrier();
    // Every other write was committed exactly once, in order; the refused one never.
    assert.deepEqual(
      store.written.flatMap((c) => c.creates),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      store.written.flatMap((c) => c.changes),
      ['x', 'y', 'z'],
    );
    // Found by halving the batch (6 writes: at most 3 halvings), then never tried again.
    const tries = store.commits.filter((c) => c.changes.includes('deep-result')).length;
    assert.ok(tries <= 4, `the refused write was tried ${tries} times`);
    assert.deepEqual(refusals, [['cmd']]);
    assert.deepEqual(health, [], 'a refused write is not a store failure: health must not flap');

    // The batcher is not wedged: later writes go straight through.
    const commits = store.commits.length;
    assert.equal(await w.change(change('later')), 'ok');
    assert.equal(store.commits.length, commits + 1);
  });

  test('a create unit the store refuses is refused whole, and only it', async () => {
    const store = new FakeStore();
    store.poison.add('p2');
    const w = batcher(store);
    const results = await Promise.allSettled([w.create([item('p1'), item('p2')]), w.create([item('q')]), w.change(change('x'))]);
    assert.equal(results[0].status, 'rejected');
    assert.deepEqual(
      results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value : 'rejected')),
      [[true], 'ok'],
    );
    assert.ok(!store.existing.has('p1'), 'a unit is all or nothing: p1 must not be written without p2');
  });

  test('a store failure is not split: the whole batch waits and is retried, creates rejected', async () => {
    const store = new FakeStore();
    store.failures = [errors.STORE_FULL('database or disk is full')];
    const w = batcher(store);
    const created = w.create([item('a')]);
    const changes = [w.change(change('x')), w.change(change('y'))];
    await assert.rejects(created, (e) => e instanceof CourierError && e.code === 'COURIER_ERR_STORE_FULL');
    assert.deepEqual(await Promise.all(changes), ['ok', 'ok']);
    assert.deepEqual(store.commits, [
      { creates: ['a'], changes: ['x', 'y'] },
      { creates: [], changes: ['x', 'y'] },
    ]);
  });

  test('barrier() resolves only after every earlier write is committed', async () => {
    const store = new FakeStore();
    const gate = deferred();
    store.gate = gate.promise;
    const w = batcher(store);
    const order: string[] = [];
    void w.change(change('x')).then(() => order.push('x committed'));
    const barrier = w.barrier().then(() => order.push('barrier'));
    await turns();
    assert.deepEqual(order, [], 'the barrier resolved before the write was committed');
    store.gate = null;
    gate.open();
    await barrier;
    assert.deepEqual(order, ['x committed', 'barrier']);
  });

  test('barrier() waits for writes requested but not yet started', async () => {
    const store = new FakeStore();
    const w = batcher(store);
    let committed = false;
    void w.create([item('a')]).then(() => (committed = true));
    await w.barrier();
    assert.equal(committed, true);
    assert.equal(store.commits.length, 1);
  });

  test('barrier() waits through retries of failed changes', async () => {
    const store = new FakeStore();
    store.failures = [down('busy')];
    const w = batcher(store);
    void w.change(change('x'));
    await w.barrier();
    assert.equal(store.commits.length, 2, 'the barrier resolved before the retried change was written');
  });

  test('barrier() does not wait for a rejected create, nor for writes requested after it', async () => {
    const store = new FakeStore();
    store.failures = [errors.STORE_FULL('full')];
    const w = batcher(store);
    const rejected = w.create([item('a')]);
    rejected.catch(() => {});
    await w.barrier();
    await assert.rejects(rejected);

    const gate = deferred();
    store.gate = gate.promise;
    const before = w.barrier();
    void w.change(change('later'));
    await before; // nothing was requested before it
    store.gate = null;
    gate.open();
    await w.barrier();
  });

  test('barrier() with nothing written resolves at once', async () => {
    const w = batcher(new FakeStore());
    await w.barrier();
  });

  test('onHealthChange is called once per change of state', async () => {
    const store = new FakeStore();
    const calls: [boolean, unknown][] = [];
    const w = batcher(store, { onHealthChange: (healthy, error) => calls.push([healthy, error]) });
    await w.change(change('ok-1'));
    assert.deepEqual(calls, [], 'healthy at start: no call');

    const e1 = down('first');
    store.failures = [e1, down('second'), down('third')];
    await w.change(change('retried'));
    assert.equal(calls.length, 2, JSON.stringify(calls));
    assert.deepEqual(calls[0], [false, e1]);
    assert.equal(calls[1]![0], true);

    await w.change(change('ok-2'));
    assert.equal(calls.length, 2);

    const e2 = down('again');
    store.failures = [e2];
    await w.change(change('retried-2'));
    assert.equal(calls.length, 4);
    assert.deepEqual(calls[2], [false, e2]);
    assert.equal(calls[3]![0], true);
  });

  test('a create refused by a failing store with nothing left to retry: probes tell when the store is well again, no create needed', async () => {
    const store = new FakeStore();
    const calls: boolean[] = [];
    let probes = 0;
    const probeFailures = [down('probe 1'), down('probe 2')];
    let healed!: () => void;
    const wellAgain = new Promise<void>((resolve) => (healed = resolve));
    const w = batcher(store, {
      onHealthChange: (healthy) => {
        calls.push(healthy);
        if (healthy) healed();
      },
      probe: async () => {
        probes++;
        const failure = probeFailures.shift();
        if (failure) throw failure;
      },
    });
    store.failures = [down('cluster away')];
    await assert.rejects(w.create([item('refused')]), /cluster away/);
    // The probe's timer does not hold a process open (a server does): this test holds it.
    const open = setInterval(() => {}, 1000);
    await wellAgain.finally(() => clearInterval(open));
    assert.deepEqual(calls, [false, true]);
    assert.equal(probes, 3, 'probed until one went through');
    assert.deepEqual(store.written, [], 'the refused create was not written by anyone');
  });

  test('a commit listener that throws does not put the committed batch back (no change is written twice)', async () => {
    const store = new FakeStore();
    const listenerErrors: unknown[] = [];
    const w = batcher(store, {
      onCommitted: () => {
        throw new Error('listener broke');
      },
      onListenerError: (error) => listenerErrors.push(error),
    });
    assert.equal(await w.change(change('claimed')), 'ok');
    await w.barrier();
    await turns();
    assert.deepEqual(store.commits, [{ creates: [], changes: ['claimed'] }]);
    assert.equal(listenerErrors.length, 1);
  });
});

describe('WriteBatcher.abandon (a shutdown past its deadline)', () => {
  test('rejects what is queued and what is being retried, ends the back-off at once, and refuses later writes', async () => {
    const store = new FakeStore();
    store.failures = Array.from({ length: 100 }, () => down('disk I/O error'));
    const w = batcher(store, { retryDelayMs: () => 60_000 });
    const retried = w.change(change('x'));
    await turns();
    assert.equal(store.commits.length, 1);
    assert.deepEqual(w.backlog, { creates: 0, changes: 1, commands: ['cmd'] });
    const stop = errors.SHUTTING_DOWN();
    w.abandon(stop);
    await assert.rejects(retried, (e) => e === stop);
    await w.barrier(); // does not wait for the abandoned write
    await assert.rejects(w.change(change('later')), (e) => e === stop);
    await assert.rejects(w.create([item('late')]), (e) => e === stop);
    assert.equal(store.commits.length, 1, 'nothing is tried again once abandoned');
    assert.deepEqual(w.backlog, { creates: 0, changes: 0, commands: [] });
  });
});
