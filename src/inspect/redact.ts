/**
 * Makes runtime data (machine contexts, events, outputs) safe to leave the process: a JSON-ready
 * deep copy in which every field whose name looks like a secret is replaced. Courier's machine
 * contexts hold no secrets today; this is the defence for the day one does, and for what agents
 * put in their result `data`.
 */

/** Field names never sent as they are (case-insensitive, anywhere in the name). */
export const DENIED_FIELD = /key|token|secret|passw|authori[sz]ation|cookie|credential|signature|jwt/i;
export const REDACTED = '[redacted]';

const MAX_DEPTH = 10;
const MAX_ITEMS = 100;
const MAX_STRING = 4096;

export function redact(value: unknown, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      break; // null, errors, arrays and plain objects: below
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Error) return { name: value.name, message: value.message };
  // Dates, actor references (`{ xstate$$type, id }`) and snapshots know their own JSON form.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redact(toJSON.call(value), depth + 1);
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => redact(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
    copy[name] = DENIED_FIELD.test(name) ? REDACTED : redact(field, depth + 1);
  }
  return copy;
}
