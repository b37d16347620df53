import type { CommandView } from '../../src/domain/command.js';
import type { Supervisor } from '../../src/runtime/supervisor.js';

/** One long-poll of an agent straight on a supervisor: resolves with what it is pushed, written out at once (as a finished answer is). */
export function pollOnce(supervisor: Supervisor, agent: string, timeoutMs = 60_000): Promise<CommandView[]> {
  return new Promise<CommandView[]>((resolve) => {
    const sub = supervisor.subscribe(
      `agent:${agent}`,
      'long-poll',
      `agent:${agent}`,
      {
        push: (commands) => {
          resolve(commands);
          supervisor.written(sub);
        },
        drain: () => resolve([]),
      },
      { longPollTimeoutMs: timeoutMs },
    );
  });
}
