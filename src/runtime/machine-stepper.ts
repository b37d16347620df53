import { createActor, type ActorScope, type AnyStateMachine, type EventFromLogic, type ExecutableActionsFrom, type InputFrom, type SnapshotFrom } from 'xstate';

export type Step<T extends AnyStateMachine> = (snapshot: SnapshotFrom<T>, event: EventFromLogic<T>) => [SnapshotFrom<T>, ExecutableActionsFrom<T>[]];

/**
 * XState's pure `transition(machine, snapshot, event)`, with one actor scope made once and reused.
 * `transition()` builds a throwaway actor and actor system on every call, and that actor computes
 * the machine's initial state without its input: the command machine's context factory then throws,
 * and the error (stack trace and all) is made and dropped on every event. Measured at saturation,
 * that was a fifth of courier's CPU and most of its garbage. The next snapshot and the actions to
 * run are the same as `transition()`'s: nothing is executed here.
 */
export function machineStepper<T extends AnyStateMachine>(machine: T, input: InputFrom<T>): Step<T> {
  const self = createActor(machine, { input });
  let actions: ExecutableActionsFrom<T>[] = [];
  const scope = {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: (action: ExecutableActionsFrom<T>) => void actions.push(action),
  } as unknown as ActorScope<SnapshotFrom<T>, EventFromLogic<T>>;
  return (snapshot, event) => {
    actions = [];
    const next = machine.transition(snapshot, event, scope) as SnapshotFrom<T>;
    return [next, actions];
  };
}
