import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandMachine } from '../../machines/command.machine.js';
import { indexerPollerMachine } from '../../machines/indexer-poller.machine.js';
import { jobMachine } from '../../machines/job.machine.js';
import { consoleMachines } from '../../src/console/console-machines.js';
import { labelLines, layOutMachine, type LaidOutState } from '../../src/console/machine-layout.js';
import { machineStructure, statesOf } from '../../src/inspect/machine-structure.js';
import { machineFiles } from '../../src/tools/machines-doc.js';

const inside = (inner: LaidOutState, outer: LaidOutState) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
const overlap = (a: LaidOutState, b: LaidOutState) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe("the console's machine diagrams", () => {
  test('the command machine: every state once, by its path, the initial one marked, every transition drawn with its label', () => {
    const layout = layOutMachine(commandMachine);
    assert.deepEqual(layout.states.map((s) => s.path).sort(), Object.keys(commandMachine.root.states).sort());
    assert.deepEqual(
      layout.states.filter((s) => s.initial).map((s) => s.path),
      ['pending'],
    );
    const structure = machineStructure(commandMachine);
    assert.equal(layout.transitions.length, structure.transitions.length);
    const claim = layout.transitions.find((t) => t.label.startsWith('CLAIM'))!;
    assert.deepEqual([claim.source, claim.target, claim.event], ['pending', 'sent', 'CLAIM']);
    for (const t of layout.transitions) {
      assert.ok(t.points.length >= 2, `${t.label}: a line of at least two points`);
      assert.deepEqual(t.lines.join(' '), t.label);
    }
    for (const s of layout.states) assert.ok(s.x >= 0 && s.y >= 0 && s.x + s.width <= layout.width && s.y + s.height <= layout.height, `${s.path} within the drawing`);
  });

  test('no two states of one level overlap (command, job)', () => {
    for (const machine of [commandMachine, jobMachine]) {
      const { states } = layOutMachine(machine);
      for (const a of states) for (const b of states) if (a !== b) assert.ok(!overlap(a, b), `${machine.id}: ${a.path} and ${b.path} overlap`);
    }
  });

  test('a nested machine (the indexer poller): each state inside its parent, every state of the definition present', () => {
    const layout = layOutMachine(indexerPollerMachine);
    const byPath = new Map(layout.states.map((s) => [s.path, s]));
    const defined = [...statesOf(machineStructure(indexerPollerMachine).root)].filter((s) => s.path.length > 0).map((s) => s.path.join('.'));
    assert.deepEqual([...byPath.keys()].sort(), defined.sort());
    const nested = layout.states.filter((s) => s.path.includes('.'));
    assert.ok(nested.length > 0);
    for (const child of nested) {
      const parent = byPath.get(child.path.slice(0, child.path.lastIndexOf('.')))!;
      assert.ok(inside(child, parent), `${child.path} inside ${parent.path}`);
    }
  });

  test("the job machine's own transitions (CANCEL in any state) start from a box of their own", () => {
    const layout = layOutMachine(jobMachine);
    const any = layout.states.find((s) => s.type === 'any')!;
    assert.deepEqual([any.path, any.key], ['*', '(any state)']);
    const cancel = layout.transitions.find((t) => t.label.startsWith('CANCEL'))!;
    assert.deepEqual([cancel.source, cancel.target, cancel.event], ['*', 'cancelled', 'CANCEL']);
  });

  test('labels are cut before the guard and before the actions', () => {
    assert.deepEqual(labelLines('RESULT [resultIsSuccess] / recordResult, persist(result)'), ['RESULT', '[resultIsSuccess]', '/ recordResult, persist(result)']);
    assert.deepEqual(labelLines('CANCEL / persist(cancelled)'), ['CANCEL', '/ persist(cancelled)']);
    assert.deepEqual(labelLines('after 5s'), ['after 5s']);
  });

  test('the console lists every machine file of machines/ once', () => {
    const ids = consoleMachines().map((m) => m.id);
    assert.deepEqual(ids, ['command', 'job', 'webSocketSubscription', 'longPollSubscription', 'supervisor', 'indexerPoller']);
    assert.deepEqual(
      consoleMachines()
        .map((m) => m.file)
        .sort(),
      machineFiles().map((file) => `machines/${file}`),
    );
  });
});
