import { errors } from '../errors.js';

/**
 * Bounds on the free-form JSON a client controls (an action's `args`, a result's `data`).
 *
 * Every later step that walks such a value recursively (JSON.stringify in a store, fastify's
 * response serializer, the WebSocket frame) overflows the stack on a value nested a few thousand
 * levels deep, and one such value used to stall every write behind it. So the value is measured
 * here, at the edge, without recursion, and refused when it is too deep or too large.
 */
export interface JsonLimits {
  /** Most levels of nested arrays and objects (the value itself is level 1 when it is one). */
  maxDepth: number;
  /** Most bytes of its JSON text (UTF-16 code units, close to UTF-8 for ASCII). */
  maxBytes: number;
}

/** Most results in one report (a request, an NDJSON body, a WebSocket `results` frame). */
export const MAX_RESULTS_PER_REPORT = 1000;

/** Deep enough for any real argument or result, far from the depth at which recursion fails (thousands). */
export const MAX_JSON_DEPTH = 32;
export const ACTION_ARGS_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxBytes: 64 * 1024 };
export const RESULT_DATA_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxBytes: 256 * 1024 };

/**
 * Why `value` breaks `limits`, naming it as `where`, or null when it does not. Walks the value
 * with an explicit stack and stops at the first limit passed, so its cost is bounded by the
 * limits, not by the value. Sizes count the JSON text as JSON.stringify would write it, except
 * that escapes are counted as one character (an approximation that only ever errs low by the
 * escapes' extra characters).
 */
export function jsonLimitProblem(value: unknown, limits: JsonLimits, where: string): string | null {
  let bytes = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || v === true) bytes += 4;
    else if (v === false) bytes += 5;
    else if (typeof v === 'number') bytes += String(v).length;
    else if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'object') {
      if (depth > limits.maxDepth) return `[${where}] is nested deeper than ${limits.maxDepth} levels`;
      const entries = Array.isArray(v) ? v : Object.entries(v as Record<string, unknown>);
      bytes += 2 + Math.max(0, entries.length - 1); // brackets and commas
      for (const entry of entries) {
        if (Array.isArray(v)) stack.push({ value: entry, depth: depth + 1 });
        else {
          const [key, child] = entry as [string, unknown];
          bytes += key.length + 3; // "key":
          stack.push({ value: child, depth: depth + 1 });
        }
      }
    }
    // undefined and functions cannot come from parsed JSON.
    if (bytes > limits.maxBytes) return `[${where}] is larger than ${limits.maxBytes} bytes of JSON`;
  }
  return null;
}

/** Throws a 400 (`COURIER_ERR_VALIDATION`) naming `where` when `value` breaks `limits`. */
export function assertWithinLimits(value: unknown, limits: JsonLimits, where: string): void {
  const problem = jsonLimitProblem(value, limits, where);
  if (problem) throw errors.VALIDATION(problem);
}

/** Result reports as every result route receives them: their `data` is checked, each named by its place. */
export function assertResultsWithinLimits(reports: readonly { data?: unknown }[], where: (index: number) => string): void {
  reports.forEach((report, i) => {
    if (report.data !== undefined) assertWithinLimits(report.data, RESULT_DATA_LIMITS, `${where(i)}.data`);
  });
}
