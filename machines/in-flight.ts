/**
 * The set of commands a subscription holds, changed without mutation (a machine's context is
 * replaced, never edited). Shared by the two subscription machines.
 */
export function withHanded(inFlight: ReadonlySet<string>, ids: readonly string[]): ReadonlySet<string> {
  return new Set([...inFlight, ...ids]);
}

export function withReleased(inFlight: ReadonlySet<string>, ids: readonly string[]): ReadonlySet<string> {
  if (!ids.some((id) => inFlight.has(id))) return inFlight;
  const left = new Set(inFlight);
  for (const id of ids) left.delete(id);
  return left;
}
