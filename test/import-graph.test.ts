/**
 * The import graph of `src/` (and `machines/`) runs one way: no module imports itself back through
 * others, no two folders import each other, and the HTTP folders are layered: the listeners
 * (agents-api, admin-api, management) import the routes they share (operator-routes) and the kernel
 * (http), never one another; nothing below them imports any of them. Type-only imports count too.
 * On top, the composition roots: courier.ts wires the listeners up, and the library (src/library,
 * the public API that src/index.ts exports) wraps it; only the public entry imports the library.
 * src/workers is a composition root too: a connection worker's process assembles the agents API there.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, posix, relative, sep } from 'node:path';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return name.endsWith('.ts') ? [relative(root, path).split(sep).join('/')] : [];
  });
}

/** Relative specifiers of every static import and re-export, each statement from the start of a line. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*'(\.{1,2}\/[^']+)'|^\s*import\s*'(\.{1,2}\/[^']+)'/gm)) {
    const spec = (match[1] ?? match[2])!;
    found.push(posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return found;
}

const files = [...sourcesUnder(join(root, 'src')), ...sourcesUnder(join(root, 'machines'))];
const edges = new Map(files.map((f) => [f, importsOf(f)]));

/** A module's folder under src/ (`src/http`), or the module itself for the files at the top of src/. */
function unitOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : file;
}

/** The first cycle found in a graph, as the path around it; null when there is none. */
function findCycle(graph: Map<string, Iterable<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

function crossings(from: (unit: string) => boolean, to: (unit: string) => boolean): string[] {
  return [...edges].flatMap(([file, targets]) => targets.filter((t) => unitOf(t) !== unitOf(file) && from(unitOf(file)) && to(unitOf(t))).map((t) => `${file} -> ${t}`));
}

const LISTENERS = ['src/agents-api', 'src/admin-api', 'src/management'];
// The console's routes are mounted on the management listener, like the operator routes.
const HTTP_FOLDERS = [...LISTENERS, 'src/operator-routes', 'src/console', 'src/http'];
const COMPOSITION_ROOTS = ['src/courier.ts', 'src/library', 'src/workers'];

describe('the import graph', () => {
  test('the parser finds the imports (a sanity check of this test)', () => {
    assert.ok(files.length > 100, `${files.length} files`);
    assert.ok(edges.get('src/courier.ts')!.includes('src/errors.ts'), JSON.stringify(edges.get('src/courier.ts')));
    assert.deepEqual(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
      ['a', 'b', 'c', 'a'],
    );
  });

  test('every import names a module that exists', () => {
    const missing = [...edges].flatMap(([file, targets]) => targets.filter((t) => !edges.has(t)).map((t) => `${file} -> ${t}`));
    assert.deepEqual(missing, []);
  });

  test('no module imports itself back through others', () => {
    assert.equal(findCycle(edges)?.join(' -> ') ?? null, null);
  });

  test('no two folders import each other, however far round', () => {
    const units = new Map<string, Set<string>>();
    for (const [file, targets] of edges) {
      const out = units.get(unitOf(file)) ?? units.set(unitOf(file), new Set()).get(unitOf(file))!;
      for (const t of targets) if (unitOf(t) !== unitOf(file)) out.add(unitOf(t));
    }
    assert.equal(findCycle(units)?.join(' -> ') ?? null, null);
  });

  test('the listeners import neither one another nor anything that imports them', () => {
    for (const listener of LISTENERS) {
      assert.deepEqual(
        crossings(
          (u) => u !== listener && !COMPOSITION_ROOTS.includes(u),
          (u) => u === listener,
        ),
        [],
        `imports of ${listener}`,
      );
    }
  });

  test('the routes shared by the admin socket and the management API import no listener', () => {
    assert.deepEqual(
      crossings(
        (u) => u === 'src/operator-routes',
        (u) => LISTENERS.includes(u),
      ),
      [],
    );
  });

  test('the HTTP kernel imports no folder above it', () => {
    assert.deepEqual(
      crossings(
        (u) => u === 'src/http',
        (u) => HTTP_FOLDERS.includes(u),
      ),
      [],
    );
  });

  test('nothing below the HTTP folders imports them (only the composition roots: courier.ts, and the library for the checks it shares)', () => {
    const below = (u: string) => !HTTP_FOLDERS.includes(u) && !COMPOSITION_ROOTS.includes(u);
    assert.deepEqual(
      crossings(below, (u) => HTTP_FOLDERS.includes(u)),
      [],
    );
  });

  test('only the public entry imports the library (the runtime knows nothing of who embeds it)', () => {
    assert.deepEqual(
      crossings(
        (u) => u !== 'src/index.ts',
        (u) => u === 'src/library',
      ),
      [],
    );
  });

  test('the store does not import auth/ (credentials build on the store, not the other way)', () => {
    assert.deepEqual(
      crossings(
        (u) => u === 'src/store',
        (u) => u === 'src/auth',
      ),
      [],
    );
  });

  test('the domain imports only itself and the error catalogue', () => {
    assert.deepEqual(
      crossings(
        (u) => u === 'src/domain',
        (u) => u !== 'src/errors.ts',
      ),
      [],
    );
  });
});
