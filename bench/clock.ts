/**
 * Wall-clock milliseconds with sub-millisecond resolution. The driver and the load process run
 * on the same machine, so their readings are comparable: a command carries its send time in
 * `action.args.sent_at` and the agent that receives it subtracts.
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
