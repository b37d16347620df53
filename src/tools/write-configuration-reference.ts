import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIGURATION_REFERENCE_FILE, configurationReference } from './configuration-reference.js';

// `npm run config-reference`: regenerates docs/configuration.md from the configuration's options.
const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
writeFileSync(join(root, CONFIGURATION_REFERENCE_FILE), configurationReference());
console.log(`wrote ${CONFIGURATION_REFERENCE_FILE}`);
