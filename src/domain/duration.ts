/** `1500ms`, `30s`, `5m`, `1h`, `2d`, or a bare number of seconds, in ms; throws an Error saying what is wrong. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration (e.g. 500ms, 30s, 5m, 1h, 2d)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!);
}

/** The duration in ms, or null when the text is not one (or not above zero). */
export function durationOrNull(text: string): number | null {
  try {
    const ms = parseDuration(text);
    return ms > 0 ? ms : null;
  } catch {
    return null;
  }
}

/** A duration in ms as the largest whole unit writes it: 300000 → `5m`, 1500 → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
