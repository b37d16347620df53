import { readFileSync } from 'node:fs';

/** The version in package.json (read once; the file sits two levels above the compiled module). */
export const COURIER_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
