import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { newSigningJwk, parseKeySet } from '../auth/agent-tokens.js';
import { writePrivateFile } from '../data-dir.js';
import { printJson } from './format.js';
import { exits } from './usage.js';

/** Keys kept by a rotation: the new one, and the one that signed until now. */
const KEPT = 2;

const keySet = (file: string) => (existsSync(file) ? parseKeySet(file, readFileSync(file, 'utf8')) : []);

/** A new signing key first in the key set file (made if missing), the previous one kept to verify. */
export async function rotateKeySet(file: string): Promise<{ signing: string; verifying: string[] }> {
  const fresh = await newSigningJwk();
  const keys = [fresh, ...keySet(file)].slice(0, KEPT);
  writePrivateFile(file, JSON.stringify({ keys }));
  return { signing: fresh.kid!, verifying: keys.slice(1).map((k) => k.kid ?? '(no kid)') };
}

/** `courier token-keys rotate|list`: the key set file that signs agent tokens on every node of a cluster. */
export function registerTokenKeys(program: Command): void {
  const tokenKeys = program
    .command('token-keys')
    .description('the key set that signs agent tokens on every node of a cluster (serve --token-keys)')
    .addHelpText(
      'after',
      `
The file is a JSON Web Key Set of private RSA keys (mode 0600), the same on every node of a cluster
(serve --token-keys <keys.json>): an agent's token then holds on any node. After a rotation, give
every node the new file and send it SIGHUP (or restart it); tokens signed with the previous key stay
valid until they expire (900 s). A rotation drops the keys before the previous one.`,
    );

  tokenKeys
    .command('rotate')
    .description('a new signing key first; the previous one kept to verify')
    .requiredOption('--file <keys.json>', 'the key set file (made if missing)')
    .option('--json', 'print JSON')
    .action(
      exits(async (options) => {
        const file = resolve(options.file);
        const rotated = await rotateKeySet(file);
        if (options.json) printJson(rotated);
        else {
          console.log(`${file}: ${rotated.signing} signs from now on${rotated.verifying.length > 0 ? `; ${rotated.verifying[0]} still verifies` : ''}`);
          console.log('Give every node this file and send it SIGHUP (or restart it).');
        }
        return 0;
      }),
    );

  tokenKeys
    .command('list')
    .description("the keys' ids, the signing one first")
    .requiredOption('--file <keys.json>', 'the key set file')
    .option('--json', 'print JSON')
    .action(
      exits(async (options) => {
        const kids = keySet(resolve(options.file)).map((k) => k.kid ?? '(no kid)');
        if (options.json) printJson({ keys: kids.map((kid, i) => ({ kid, signs: i === 0 })) });
        else kids.forEach((kid, i) => console.log(`${kid}${i === 0 ? '  (signs)' : '  (verifies)'}`));
        return 0;
      }),
    );
}
