import { parseDuration } from './domain/duration.js';

/** How one raw option value (a flag, an environment variable, a JSON file's value) becomes a typed one. */
export type Kind = 'string' | 'port' | 'int' | 'duration' | 'sync' | 'logLevel' | 'logFormat' | 'boolean' | 'url' | 'list';

/** The values a kind with a fixed set of them takes (`serve --help` and shell completion list them). */
export const KIND_CHOICES = {
  sync: ['normal', 'full'],
  logLevel: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  logFormat: ['auto', 'json', 'pretty'],
} as const satisfies Partial<Record<Kind, readonly string[]>>;

function oneOf(kind: keyof typeof KIND_CHOICES, text: string): string {
  const choices: readonly string[] = KIND_CHOICES[kind];
  if (!choices.includes(text)) throw new Error(`"${text}" is not one of ${choices.join(', ')}`);
  return text;
}

/** `1500ms`, `30s`, `5m`, `1h`, `2d`, or a bare number of seconds (see domain/duration.ts). */
export { parseDuration };

/** Throws an Error saying what is wrong (the caller names the option and its source). */
export function convertKind(kind: Kind, raw: unknown): unknown {
  if (kind === 'boolean') return parseBoolean(raw);
  // A JSON config file may give a list as an array.
  if (kind === 'list' && Array.isArray(raw)) raw = raw.join(',');
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(`expected a string or a number, got ${JSON.stringify(raw)}`);
  const text = String(raw).trim();
  if (text === '') throw new Error('is empty');
  switch (kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new Error('expected a non-empty string');
      return raw;
    case 'port': {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`"${text}" is not a port (0-65535)`);
      return n;
    }
    case 'int': {
      const n = Number(text);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`"${text}" is not a positive integer`);
      return n;
    }
    case 'duration': {
      const ms = typeof raw === 'number' ? Math.round(raw * 1000) : parseDuration(text);
      if (!(ms > 0)) throw new Error(`"${text}" is not a positive duration`);
      return ms;
    }
    case 'sync':
    case 'logLevel':
    case 'logFormat':
      return oneOf(kind, text);
    case 'list': {
      const items = text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      if (items.length === 0) throw new Error('is an empty list');
      return items;
    }
    case 'url':
      if (!/^https?:\/\/[^/\s]+/.test(text)) throw new Error(`"${text}" is not an http(s) URL`);
      return text;
  }
}

/**
 * Throws an Error saying what is wrong with a value given already typed (by a program embedding
 * courier), as `convertKind` would of the same value written out: durations are in ms here.
 */
export function checkTyped(kind: Kind, value: unknown): unknown {
  const fail = (expected: string) => new Error(`expected ${expected}, got ${JSON.stringify(value)}`);
  switch (kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw fail('true or false');
      return value;
    case 'port':
    case 'int':
      if (typeof value !== 'number') throw fail(kind === 'port' ? 'a port number' : 'a positive integer');
      return convertKind(kind, value);
    case 'duration':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw fail('a positive number of milliseconds');
      return Math.round(value);
    case 'list':
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.trim() === '')) throw fail('an array of non-empty strings');
      return value.map((item: string) => item.trim());
    case 'string':
    case 'sync':
    case 'logLevel':
    case 'logFormat':
    case 'url':
      if (typeof value !== 'string') throw fail('a string');
      return convertKind(kind, value);
  }
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** `true`/`false` (JSON), or true|false|1|0|yes|no|on|off (flags and environment). */
function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw new Error(`"${String(raw)}" is not a boolean (true or false)`);
}
