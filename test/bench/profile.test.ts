import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topAllocations } from '../../bench/profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

test("a sampling heap profile's allocation sites are summed per function and place, largest first", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-heapprofile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'phase.heapprofile');
  const step = frame('step', 'file:///x/dist/src/runtime/machine-stepper.js', 40);
  // The same site reached by two paths counts once, with both sizes.
  const head = {
    callFrame: frame('(root)'),
    selfSize: 0,
    children: [
      { callFrame: frame('send', 'file:///x/dist/src/runtime/live-command.js', 9), selfSize: 1024, children: [{ callFrame: step, selfSize: 3 * 1024 * 1024, children: [] }] },
      { callFrame: frame('dispatch', 'file:///x/node_modules/ws/lib/sender.js', 1), selfSize: 1024 * 1024, children: [{ callFrame: step, selfSize: 1024 * 1024, children: [] }] },
    ],
  };
  writeFileSync(file, JSON.stringify({ head, samples: [] }));
  const { totalMb, top } = topAllocations(file, 2);
  assert.equal(Math.round(totalMb * 1024), 5 * 1024 + 1);
  assert.deepEqual(
    top.map((s) => [s.name, s.where, Math.round(s.mb)]),
    [
      ['step', 'src/runtime/machine-stepper.js:41', 4],
      ['dispatch', 'ws/lib/sender.js:2', 1],
    ],
  );
  assert.ok(Math.abs(top[0]!.share - 4 / (5 + 1 / 1024)) < 1e-9);
});
