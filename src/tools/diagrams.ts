// `npm run diagrams`: regenerates docs/machines.md from the compiled machines.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MACHINES_DOC, machineFiles, machinesDoc, PROJECT_ROOT } from './machines-doc.js';

writeFileSync(join(PROJECT_ROOT, MACHINES_DOC), await machinesDoc());
console.log(`wrote ${MACHINES_DOC} (${machineFiles().length} machine files)`);
