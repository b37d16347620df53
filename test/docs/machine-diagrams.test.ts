import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromPromise, not, setup } from 'xstate';
import { machineDiagram } from '../../src/tools/machine-diagram.js';
import { MACHINES_DOC, machineFiles, machinesDoc, PROJECT_ROOT } from '../../src/tools/machines-doc.js';

describe('docs/machines.md', () => {
  test('is what `npm run diagrams` generates from machines/*.machine.ts now', async () => {
    const path = join(PROJECT_ROOT, MACHINES_DOC);
    assert.ok(existsSync(path), `${MACHINES_DOC} is missing: run \`npm run diagrams\``);
    const expected = await machinesDoc();
    const actual = readFileSync(path, 'utf8');
    assert.ok(actual === expected, `${MACHINES_DOC} is out of date with machines/: run \`npm run diagrams\` and commit the result`);
  });

  test('has one diagram section per machine file', async () => {
    const doc = await machinesDoc();
    for (const file of machineFiles()) assert.ok(doc.includes(`(../machines/${file})`), `${file} has no section`);
  });
});

describe('machine diagram', () => {
  const machine = setup({
    guards: { ready: () => true, busy: () => false },
    actions: { log: () => {}, tidy: () => {} },
    actors: { fetchThing: fromPromise(async () => 1) },
    delays: { patience: 1000 },
  }).createMachine({
    id: 'sample',
    initial: 'idle',
    on: { ABANDON: { target: '.failed', actions: 'tidy' }, NOTE: { actions: 'log' } },
    states: {
      idle: {
        description: 'Waiting; nothing to do.',
        entry: 'log',
        on: {
          GO: [{ guard: 'ready', target: 'working', actions: 'log' }, { target: 'failed' }],
          PING: { actions: 'log' },
          SKIP: { guard: not('busy'), target: 'done' },
        },
        after: { patience: 'failed', 500: 'idle' },
      },
      working: {
        initial: 'fetching',
        invoke: { src: 'fetchThing', onDone: '#sample.done', onError: 'failed' },
        states: {
          fetching: { always: { guard: 'busy', target: 'checking' }, on: { NEXT: 'checking' } },
          checking: { type: 'final' },
        },
        onDone: 'done',
      },
      both: {
        type: 'parallel',
        exit: 'tidy',
        states: {
          left: { initial: 'a', states: { a: {} } },
          right: { initial: 'b', states: { b: {} } },
        },
      },
      failed: { type: 'final' },
      done: { type: 'final' },
    },
  });
  const diagram = machineDiagram(machine);
  const lines = diagram.split('\n').map((line) => line.trim());

  test('draws the initial and final states', () => {
    assert.equal(lines[0], 'stateDiagram-v2');
    assert.equal(lines[1], '[*] --> idle');
    assert.ok(lines.includes('failed --> [*]'));
    assert.ok(lines.includes('done --> [*]'));
  });

  test('labels transitions with guards, [else], actions, delays, always and invocation outcomes', () => {
    for (const edge of [
      'idle --> working : GO [ready] / log',
      'idle --> failed : GO [else]',
      'idle --> idle : PING / log',
      'idle --> done : SKIP [not(busy)]',
      'idle --> failed : after patience',
      'idle --> idle : after 500ms',
      'working --> done : done: fetchThing',
      'working --> failed : error: fetchThing',
      'working --> done : done',
      'working__fetching --> working__checking : NEXT',
      'working__fetching --> working__checking : always [busy]',
    ]) {
      assert.ok(lines.includes(edge), `missing "${edge}" in\n${diagram}`);
    }
  });

  test('nests compound and parallel states, and notes descriptions, entry/exit and invocations', () => {
    assert.ok(lines.includes('state working {'));
    assert.ok(lines.includes('state "fetching" as working__fetching'));
    assert.ok(lines.includes('[*] --> working__fetching'));
    assert.ok(lines.includes('working__checking --> [*]'));
    assert.ok(lines.includes('--'), 'parallel regions are separated');
    assert.match(diagram, /note right of idle\n\s+Waiting; nothing to do\.\n\s+entry \/ log\n\s+end note/);
    assert.match(diagram, /note right of working\n\s+invoke fetchThing\n\s+end note/);
    assert.match(diagram, /note right of both\n\s+exit \/ tidy\n\s+end note/);
  });

  test("draws the machine's own transitions (taken in any state) from a box of their own", () => {
    assert.ok(lines.includes('state "(any state)" as any_state'));
    assert.ok(lines.includes('any_state --> failed : ABANDON / tidy'));
    assert.ok(lines.includes('any_state --> any_state : NOTE / log'));
  });

  test('is deterministic', () => {
    assert.equal(machineDiagram(machine), diagram);
  });
});
