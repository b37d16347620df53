import { existsSync, readFileSync } from 'node:fs';
import { badUsage } from './usage.js';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { newSigningJwk, parseKeySet } from '../auth/agent-tokens.js';
import { writePrivateFile } from '../data-dir.js';
import { printJson } from './format.js';

const HELP = `Usage:
  courier token-keys rotate --file <keys.json>   a new signing key first; the previous one kept to verify
  courier token-keys list --file <keys.json>     the keys' ids, the signing one first
The file is a JSON Web Key Set of private RSA keys (mode 0600), the same on every node of a cluster
(serve --token-keys <keys.json>): an agent's token then holds on any node. After a rotation, give
every node the new file and send it SIGHUP (or restart it); tokens signed with the previous key stay
valid until they expire (900 s). A rotation drops the keys before the previous one.`;

/** Keys kept by a rotation: the new one, and the one that signed until now. */
const KEPT = 2;

const VERBS = ['rotate', 'list'];

export async function runTokenKeys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { file: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [verb] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!verb || !values.file) return badUsage('token-keys', verb, VERBS, HELP);
  const file = resolve(values.file);
  const current = existsSync(file) ? parseKeySet(file, readFileSync(file, 'utf8')) : [];
  if (verb === 'list') {
    const kids = current.map((k) => k.kid ?? '(no kid)');
    if (values.json) printJson({ keys: kids.map((kid, i) => ({ kid, signs: i === 0 })) });
    else kids.forEach((kid, i) => console.log(`${kid}${i === 0 ? '  (signs)' : '  (verifies)'}`));
    return 0;
  }
  if (verb === 'rotate') {
    const fresh = await newSigningJwk();
    const keys = [fresh, ...current].slice(0, KEPT);
    writePrivateFile(file, JSON.stringify({ keys }));
    if (values.json) printJson({ signing: fresh.kid, verifying: keys.slice(1).map((k) => k.kid) });
    else {
      console.log(`${file}: ${fresh.kid} signs from now on${keys.length > 1 ? `; ${keys[1]!.kid} still verifies` : ''}`);
      console.log('Give every node this file and send it SIGHUP (or restart it).');
    }
    return 0;
  }
  return badUsage('token-keys', verb, VERBS, HELP);
}
