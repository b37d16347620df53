import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

// package.json's `engines.node` is a promise to whoever installs courier: every package of the
// installed tree must run on every Node it admits (npm only warns, EBADENGINE, and goes on).
// Two of fastify's dependencies moved to node >= 22 in a minor release: package.json pins them
// back with `overrides` to versions inside their parents' ranges.

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; engines?: { node?: string } };

/** Every package directory under a node_modules, nested ones included. */
function packages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules).flatMap((name) => {
    if (name.startsWith('.')) return [];
    const dir = join(nodeModules, name);
    if (name.startsWith('@')) return readdirSync(dir).flatMap((scoped) => withNested(join(dir, scoped)));
    return withNested(dir);
  });
}

function withNested(dir: string): string[] {
  return existsSync(join(dir, 'package.json')) ? [dir, ...packages(join(dir, 'node_modules'))] : [];
}

test('every installed package runs on every Node version package.json admits', () => {
  const declared = manifest(root).engines?.node;
  assert.ok(declared, 'package.json declares engines.node');
  const installed = packages(join(root, 'node_modules'));
  assert.ok(installed.length > 100, `the installed tree is read (${installed.length} packages)`);
  const tooNew = installed
    .map(manifest)
    .filter((p) => p.engines?.node && semver.validRange(p.engines.node) && !semver.subset(declared, p.engines.node))
    .map((p) => `${p.name}@${p.version} needs node ${p.engines!.node}`);
  assert.deepEqual(tooNew, [], `courier declares node ${declared}`);
});
