import type { InspectionEvent } from 'xstate';

/** One shared observer: an actor error is logged, never thrown (an unhandled one would crash the process). */
export type ActorErrorHandler = (error: unknown) => void;

/**
 * An optional inspection observer (the Stately inspector bridge), attached to every root actor
 * only when inspection is on. XState calls it synchronously and unguarded on every event.
 */
export type InspectObserver = (event: InspectionEvent) => void;

/** Wraps an inspection observer so that it can never throw into an actor. */
export function guardInspect(observer: InspectObserver): InspectObserver {
  return (event) => {
    try {
      observer(event);
    } catch {
      // Inspection is best effort: a failing observer must not affect the actor.
    }
  };
}
