import type { Logger } from 'pino';
import { MAX_ID_LENGTH, serverRoute, type CommandView } from '../domain/command.js';
import { jsonLimitProblem, RESULT_DATA_LIMITS } from '../domain/json-limits.js';
import { errors } from '../errors.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { Subscription } from '../runtime/subscription.js';
import type { CommandHandler, CommandOutcome, ComponentSubscription, ServerTarget, SubscribeOptions } from './courier-api.js';

const DEFAULT_MAX_IN_FLIGHT = 16;

/**
 * A server component's subscription in this process. It is a subscription of the supervisor like a
 * remote one, pushed to and acknowledging (the WebSocket subscription's machine): commands are
 * claimed for it as for any subscriber of the target (so one subscriber only gets each), held in
 * order, confirmed (delivered) as the handler takes each, and end with the handler's result,
 * reported as a component reports on the socket. Closing it hands back what it holds and has not
 * started, for the target's other subscribers.
 */
export function subscribeComponent(
  supervisor: Supervisor,
  logger: Logger,
  target: ServerTarget,
  handler: CommandHandler,
  options: SubscribeOptions = {},
): ComponentSubscription & { end(): void } {
  if (target?.type !== 'server') throw errors.SUBSCRIPTION_TARGET(`got type ${JSON.stringify(target?.type)}`);
  if (typeof target.id !== 'string' || target.id === '' || target.id.length > MAX_ID_LENGTH) throw errors.SUBSCRIPTION_TARGET(`id must be 1 to ${MAX_ID_LENGTH} characters`);
  if (typeof handler !== 'function') throw errors.VALIDATION('The handler of a subscription must be a function');
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw errors.VALIDATION('maxInFlight must be a positive integer');

  const route = serverRoute(target.id);
  const who = `component:${target.id}`;
  const log = logger.child({ component: target.id });
  /** Handed to it, not yet taken by the handler (their machine holds them as in flight). */
  const queue: CommandView[] = [];
  let ended = false;
  /** The handler's run: settles once the queue is empty (or the subscription ended). */
  let working: Promise<void> | null = null;

  const sub: Subscription = supervisor.subscribe(route, 'websocket', who, {
    // Called while the supervisor steps: the handler runs on a later turn.
    push: (commands) => {
      queue.push(...commands);
      working ??= Promise.resolve().then(work);
    },
    room: (inFlight) => Math.max(0, maxInFlight - inFlight),
    // Shutting down (the drain hands back what it holds) or revoked: it takes nothing more.
    drain: () => void (ended = true),
    revoked: () => void (ended = true),
  });

  async function work(): Promise<void> {
    try {
      while (!ended && queue.length > 0) {
        const command = queue.shift()!;
        const full = sub.inFlight.size >= maxInFlight;
        // Taken by the handler: delivered. One the subscription no longer holds (handed back) is not run.
        if (supervisor.confirm(sub, [command.document_id]).length === 0) continue;
        if (full) supervisor.wake(route);
        const outcome = await run(command);
        try {
          await supervisor.reportResults([{ document_id: command.document_id, ...outcome }], route, who);
        } catch (err) {
          // Shutting down, or the store failing: the command stays delivered, and times out if its result never comes.
          log.error({ err, document_id: command.document_id }, 'the result of a command could not be recorded');
        }
      }
    } catch (err) {
      // Refused because the drain began (it hands back what was held): not a failure of the subscription.
      if (supervisor.running) log.error({ err }, 'in-process subscription failed; it ends');
      end();
    } finally {
      working = null;
      if (!ended && queue.length > 0) working = Promise.resolve().then(work);
    }
  }

  /** The handler's outcome, made a result: nothing is success, a throw or a malformed outcome failure. */
  async function run(command: CommandView): Promise<CommandOutcome> {
    let outcome: CommandOutcome | void;
    try {
      outcome = await handler(command);
    } catch (error) {
      return { code: 1, message: error instanceof Error ? error.message : String(error) };
    }
    if (outcome === undefined) return { code: 0, message: 'done' };
    if (!Number.isInteger(outcome?.code) || typeof outcome.message !== 'string') {
      return { code: 1, message: 'the handler returned something other than { code: <integer>, message: <string> }' };
    }
    const problem = outcome.data === undefined ? null : jsonLimitProblem(outcome.data, RESULT_DATA_LIMITS, 'data');
    if (problem) return { code: outcome.code === 0 ? 1 : outcome.code, message: `${outcome.message} (its data was refused: ${problem})` };
    return outcome.data === undefined ? { code: outcome.code, message: outcome.message } : { code: outcome.code, message: outcome.message, data: outcome.data };
  }

  function end(): void {
    if (ended && sub.closed) return;
    ended = true;
    queue.length = 0;
    supervisor.unsubscribe(sub);
  }

  return {
    target: { type: 'server', id: target.id },
    get closed() {
      return ended;
    },
    end,
    async close() {
      end();
      await working;
    },
  };
}
