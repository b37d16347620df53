#!/usr/bin/env node
// The compiled CLI: `npm run build` (and `npm start`, `npm test`) build it in a clone; a packed package holds it built.
import '../dist/src/cli/main.js';
