/**
 * The error catalogue is closed: every code is one entry of `errors` in src/errors.ts, well formed
 * and unique, and no other source file spells out a code of its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { CourierError, errors, toErrorBody } from '../src/errors.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const CODE = /^COURIER_ERR_[A-Z0-9_]+$/;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The string and template literals of a TypeScript source that contain `COURIER_ERR_`, with their
 * line numbers. Comments are not literals (a comment may name a code; only code could mint one).
 */
function mintedCodes(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
      if (node.text.includes('COURIER_ERR_')) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        found.push(`${fileName}:${line}: ${node.getText(source)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const entries = Object.entries(errors);

describe('the error catalogue', () => {
  test('has entries', () => {
    assert.ok(entries.length > 40, `${entries.length} entries`);
  });

  test('every code is COURIER_ERR_ and upper-case words', () => {
    for (const [name, entry] of entries) assert.match(entry.code, CODE, name);
  });

  test('no two entries share a code', () => {
    const byCode = new Map<string, string[]>();
    for (const [name, entry] of entries) byCode.set(entry.code, [...(byCode.get(entry.code) ?? []), name]);
    assert.deepEqual(
      [...byCode].filter(([, names]) => names.length > 1),
      [],
    );
  });

  test('every entry makes errors of its own code and status, with an HTTP error status', () => {
    for (const [name, entry] of entries) {
      assert.ok(Number.isInteger(entry.statusCode) && entry.statusCode >= 400 && entry.statusCode < 600, `${name}: ${entry.statusCode}`);
      // Made without arguments: the messages tolerate that, and the code and status do not depend on them.
      const error = (entry as unknown as () => CourierError)();
      assert.ok(error instanceof CourierError, name);
      assert.equal(error.code, entry.code, name);
      assert.equal(error.statusCode, entry.statusCode, name);
      assert.equal(error.cause, undefined, name);
    }
  });

  test('causedBy keeps the error it reports as the standard cause, and what the error says', () => {
    const caught = new SyntaxError('Unexpected end of JSON input');
    const error = errors.MALFORMED_JSON.causedBy(caught, 'line 3: Unexpected end of JSON input');
    assert.equal(error.cause, caught);
    assert.equal(error.code, 'COURIER_ERR_MALFORMED_JSON');
    assert.equal(error.message, 'Malformed JSON body: line 3: Unexpected end of JSON input');
    assert.equal(Object.keys(error).includes('cause'), false, 'the cause is the standard, non-enumerable one');
    // What the client is answered never carries the cause.
    assert.deepEqual(toErrorBody(error), { message: error.message, code: 'COURIER_ERR_MALFORMED_JSON' });
    const throttled = errors.TOO_MANY_ATTEMPTS.causedBy(caught, 42);
    assert.deepEqual([throttled.retryAfterS, throttled.cause], [42, caught]);
  });

  test('the entries whose answer depends on more than the message', () => {
    assert.deepEqual(toErrorBody(errors.LONG_POLL_TIMEOUT()), { message: 'Request exceeded the processing time limit', code: 408 });
    assert.equal(errors.TOO_MANY_ATTEMPTS(7).retryAfterS, 7);
    const framework = errors.HTTP_CLIENT_ERROR(416, 'Range Not Satisfiable');
    assert.deepEqual([framework.code, framework.statusCode, framework.message], ['COURIER_ERR_HTTP_CLIENT_ERROR', 416, 'Range Not Satisfiable']);
  });
});

describe('no code outside the catalogue', () => {
  test('the search finds a code minted in a literal, and not one named in a comment', () => {
    const text = [
      '// COURIER_ERR_IN_A_COMMENT',
      '/** COURIER_ERR_IN_A_DOC_COMMENT */',
      "const a = 'COURIER_ERR_QUOTED';",
      'const b = `COURIER_ERR_HTTP_${status}`;',
      'const c = `x ${`COURIER_ERR_NESTED`}`;',
      'const d = \'http://example.com\'; const e = "COURIER_ERR_AFTER_A_URL";',
    ].join('\n');
    assert.deepEqual(
      mintedCodes('fixture.ts', text).map((f) => f.replace(/^fixture\.ts:/, '')),
      ["3: 'COURIER_ERR_QUOTED'", '4: `COURIER_ERR_HTTP_${', '5: `COURIER_ERR_NESTED`', '6: "COURIER_ERR_AFTER_A_URL"'],
    );
  });

  test('no source file but src/errors.ts spells out a COURIER_ERR_ code', () => {
    const files = [...sourcesUnder(join(root, 'src')), ...sourcesUnder(join(root, 'machines'))];
    assert.ok(files.length > 100, `${files.length} files`);
    const minted = files
      .map((file) => relative(root, file).split(sep).join('/'))
      .filter((file) => file !== 'src/errors.ts')
      .flatMap((file) => mintedCodes(file, readFileSync(join(root, file), 'utf8')));
    assert.deepEqual(minted, [], 'use (or add) an entry of `errors` in src/errors.ts');
  });
});
