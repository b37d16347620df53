/**
 * Dates in command documents, read as OpenSearch reads a `date` field mapped with
 * `strict_date_optional_time||epoch_millis`: the ISO form is tried first, then ms since the
 * epoch. JSON numbers are read the same way (OpenSearch takes `2025` as the year, not 2025 ms).
 * `Date.parse` is not used: it reads a time without an offset as local time, and refuses forms
 * OpenSearch stores (`2025-03-01T10`, a decimal comma).
 */

/** The latest (and, negated, earliest) ms a JavaScript `Date` holds: `toISOString` throws beyond it. */
const MAX_DATE_MS = 8.64e15;

const ISO = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/i;
const EPOCH_MILLIS = /^-?\d+(?:\.\d+)?$/;

/** What a document holds in a date field: absent (null/undefined/''), a time (ms), or something unreadable. */
export type DateField = { kind: 'absent' } | { kind: 'time'; ms: number } | { kind: 'invalid'; raw: string };

export function readDate(value: unknown): DateField {
  if (value === undefined || value === null || value === '') return { kind: 'absent' };
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : null;
  const ms = text === null ? null : (isoMillis(text) ?? (EPOCH_MILLIS.test(text) ? Math.trunc(Number(text)) : null));
  return ms !== null && isDateMillis(ms) ? { kind: 'time', ms } : { kind: 'invalid', raw: describeRaw(value) };
}

/** A finite time that a `Date` can hold (so `toISOString` cannot throw). */
export function isDateMillis(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS;
}

/** `strict_date_optional_time`: missing parts are their lowest value, no offset is UTC. */
function isoMillis(text: string): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const [year, month = 1, day = 1, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part)));
  const fraction = m[7] ? Number(`0.${m[7]}`) : 0;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year!, month) || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(year!, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  date.setUTCHours(hour, minute, second, Math.trunc(fraction * 1000));
  return date.getTime() - offsetMinutes(m[8]) * 60_000;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return zone.startsWith('-') ? -minutes : minutes;
}

function describeRaw(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
