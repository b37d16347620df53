import { fromPromise, setup } from 'xstate';

/**
 * The supervisor's own lifecycle. Its two effects are named actors provided by the runtime:
 * `recover` loads every unfinished command from the store and re-arms it;
 * `drain` answers open subscriptions and flushes pending writes.
 */
export const supervisorMachine = setup({
  types: {
    events: {} as { type: 'STOP' },
  },
  actors: {
    // Placeholders: the runtime provides the real implementations with `.provide()`.
    recover: fromPromise<void>(async () => {
      throw new Error('supervisor: provide the "recover" actor');
    }),
    drain: fromPromise<void>(async () => {
      throw new Error('supervisor: provide the "drain" actor');
    }),
  },
}).createMachine({
  id: 'supervisor',
  initial: 'starting',
  states: {
    starting: {
      description: 'Recovering unfinished commands from the store and re-arming their deadlines.',
      invoke: { src: 'recover', onDone: { target: 'running' }, onError: { target: 'failed' } },
      on: { STOP: { target: 'draining' } },
    },
    running: {
      description: 'Accepting commands and subscriptions.',
      on: { STOP: { target: 'draining' } },
    },
    draining: {
      description: 'Refusing new work, answering open subscriptions, flushing writes.',
      invoke: { src: 'drain', onDone: { target: 'stopped' }, onError: { target: 'stopped' } },
    },
    failed: { type: 'final', description: 'Recovery failed; the process exits with the error.' },
    stopped: { type: 'final' },
  },
});
