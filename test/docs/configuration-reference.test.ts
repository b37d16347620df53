import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { OPTIONS } from '../../src/config.js';
import { CONFIGURATION_REFERENCE_FILE, configurationReference } from '../../src/tools/configuration-reference.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('the committed configuration reference lists every option as the code has it (run `npm run config-reference`)', () => {
  const committed = readFileSync(join(root, CONFIGURATION_REFERENCE_FILE), 'utf8');
  assert.equal(committed, configurationReference(), `${CONFIGURATION_REFERENCE_FILE} drifted from src/config.ts: run \`npm run config-reference\``);
  for (const key of Object.keys(OPTIONS)) assert.match(committed, new RegExp(`\\| \`${key}\` \\|`), key);
});

test("the reference's YAML example uses only keys courier takes", () => {
  const example = /```yaml\n([\s\S]*?)```/.exec(configurationReference())![1]!;
  for (const key of Object.keys(parseYaml(example) as object)) assert.ok(key in OPTIONS, key);
});
