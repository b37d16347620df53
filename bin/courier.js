#!/usr/bin/env -S node --max-semi-space-size=64
// A young generation of 64 MB (V8's default is 16): what a command allocates lives through its
// lifecycle (about a second at saturation) and was copied by every minor collection on the way;
// with room for it, courier collects a third less garbage per command (docs/performance.md).
// `npm start` and the container image pass the same flags (a test keeps them the same).
// The compiled CLI: `npm run build` (and `npm start`, `npm test`) build it in a clone; a packed package holds it built.
import '../dist/src/cli/main.js';
