import { parseDuration } from './domain/duration.js';

/** How one raw option value (a flag, an environment variable, a JSON file's value) becomes a typed one. */
export type Kind = 'string' | 'port' | 'int' | 'duration' | 'sync' | 'logLevel' | 'logFormat' | 'boolean' | 'url' | 'list';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const LOG_FORMATS = new Set(['auto', 'json', 'pretty']);

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
      if (text !== 'normal' && text !== 'full') throw new Error(`"${text}" is not one of normal, full`);
      return text;
    case 'logLevel':
      if (!LOG_LEVELS.has(text)) throw new Error(`"${text}" is not one of ${[...LOG_LEVELS].join(', ')}`);
      return text;
    case 'logFormat':
      if (!LOG_FORMATS.has(text)) throw new Error(`"${text}" is not one of ${[...LOG_FORMATS].join(', ')}`);
      return text;
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
