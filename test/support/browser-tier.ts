import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * The browser test tier: a real headless Chromium, the distribution's package (nothing is
 * downloaded at run time), driven with playwright-core. `COURIER_TEST_CHROMIUM` names another
 * binary. Without one the tier is skipped, loudly, except under CI=true, where it fails
 * (`.ci/run` installs the package).
 */
export const CHROMIUM_ENV = 'COURIER_TEST_CHROMIUM';
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export interface BrowserTier {
  /** For `describe(name, { skip })`: false, or why the tier is skipped. */
  skip: string | false;
  /** A headless Chromium; rejects under CI when there is none. */
  launch(): Promise<Browser>;
}

export function chromiumPath(): string | null {
  const named = process.env[CHROMIUM_ENV];
  if (named) return existsSync(named) ? named : null;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

export function browserTier(): BrowserTier {
  const executablePath = chromiumPath();
  if (executablePath === null) {
    const reason = `no Chromium found (${process.env[CHROMIUM_ENV] ? `${CHROMIUM_ENV}=${process.env[CHROMIUM_ENV]}` : CANDIDATES.join(', ')})`;
    if (process.env.CI === 'true') return { skip: false, launch: () => Promise.reject(new Error(`the browser test tier must run in CI, but: ${reason}`)) };
    const bar = '!'.repeat(80);
    console.warn(['', bar, `!!  Browser test tier SKIPPED: ${reason}`, '!!  Install it (Debian: apt-get install chromium) to test the web console.', bar, ''].join('\n'));
    return { skip: `browser test tier skipped: ${reason}`, launch: () => Promise.reject(new Error(reason)) };
  }
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return { skip: false, launch: () => chromium.launch({ executablePath, args: ['--no-sandbox'] }) };
}
