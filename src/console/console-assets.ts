import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file the console's page loads: its bytes and its content type. */
export interface ConsoleAsset {
  body: Buffer;
  type: string;
}

/** The page's compiled modules sit beside this file's: `dist/src/console/page/`. */
const PAGE_DIR = new URL('./page/', import.meta.url);

/**
 * Everything the console's page loads, read once at start: its compiled modules and the one
 * library it imports (eventsource-parser, from this package's own dependencies). Nothing comes
 * from a CDN, so the console works where the operators' browsers reach only courier.
 */
export function loadConsoleAssets(): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  for (const name of readdirSync(PAGE_DIR, { recursive: true, encoding: 'utf8' })) {
    if (name.endsWith('.js')) assets.set(name.replaceAll('\\', '/'), { body: readFileSync(new URL(name, PAGE_DIR)), type: 'text/javascript; charset=utf-8' });
  }
  // The package's ESM build (its `import` export).
  const parser = fileURLToPath(import.meta.resolve('eventsource-parser'));
  assets.set('vendor/eventsource-parser.js', { body: readFileSync(parser), type: 'text/javascript; charset=utf-8' });
  return assets;
}
