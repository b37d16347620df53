import { fromPromise, setup } from 'xstate';

/**
 * The supervisor: one mailbox for everything the edges ask of the runtime. The socket routes,
 * the agents and management APIs, the indexer poller and the deadline timer send it events;
 * what each event does is a named action the runtime provides (src/runtime/supervisor.ts).
 *
 * Its own lifecycle has two named actors: `recover` loads every unfinished command from the store
 * and re-arms it; `drain` answers open subscriptions and flushes pending writes. Work arriving
 * before it runs or once it drains is refused (`refuse`: the edge answers 503) or, for what
 * nobody waits on, dropped.
 */

/** How an edge that waits gets its answer. */
export interface SupervisorReply {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Edge events someone waits on: the runtime answers through `reply`. */
export type SupervisorRequestType = 'SUBMIT' | 'CANCEL' | 'RESULTS' | 'SUBSCRIBE' | 'CONFIRMED';
/** Edge events nobody waits on. */
export type SupervisorNoticeType = 'OBSERVED' | 'ANNOUNCED' | 'WRITTEN' | 'UNSUBSCRIBED' | 'REVOKE' | 'WAKE' | 'DEADLINES' | 'SHED';

/** `request` is the edge's payload, opaque here: its type is the runtime's (src/runtime/supervisor-events.ts). */
export type SupervisorEvent = { type: 'STOP' } | { type: SupervisorRequestType; request: unknown; reply: SupervisorReply } | { type: SupervisorNoticeType; request: unknown };

export const supervisorMachine = setup({
  types: {
    events: {} as SupervisorEvent,
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
  actions: {
    // Placeholders as well, provided by name by the runtime.
    /** SUBMIT: create commands; answered once they are durable. */
    submit: () => {},
    /** CANCEL: cancel one command. */
    cancel: () => {},
    /** RESULTS: record agents' or components' results. */
    recordResults: () => {},
    /** SUBSCRIBE: open a subscription of a route and hand it its pending commands. */
    subscribe: () => {},
    /** CONFIRMED: a transport confirmed commands it was handed (→ delivered). */
    confirm: () => {},
    /** WRITTEN: a long-poll's answer was written out; its machine decides whether that is delivery. */
    written: () => {},
    /** UNSUBSCRIBED: a connection ended; what it held unconfirmed goes back to pending. */
    unsubscribe: () => {},
    /** REVOKE: a route's owner may no longer hold it; its subscriptions end. */
    revoke: () => {},
    /** WAKE: a full subscription has room again; its route is dispatched. */
    wake: () => {},
    /** OBSERVED: commands as the store now has them, changed by someone else. */
    observe: () => {},
    /** ANNOUNCED (on a cluster): commands another node just created for routes served here; taken unless already held. */
    announce: () => {},
    /** DEADLINES: stored deadlines passed; each command is told. */
    expireDeadlines: () => {},
    /** SHED (on a cluster, now and then): let go of commands whose target is served by another node, or none. */
    shed: () => {},
    /** A request arriving while not running: answered 503 (shutting down). */
    refuse: () => {},
  },
}).createMachine({
  id: 'supervisor',
  initial: 'starting',
  // Outside `running`, requests are refused; connections that end are still let go.
  on: {
    SUBMIT: { actions: 'refuse' },
    CANCEL: { actions: 'refuse' },
    RESULTS: { actions: 'refuse' },
    SUBSCRIBE: { actions: 'refuse' },
    CONFIRMED: { actions: 'refuse' },
    UNSUBSCRIBED: { actions: 'unsubscribe' },
  },
  states: {
    starting: {
      description: 'Recovering unfinished commands from the store and re-arming their deadlines.',
      invoke: { src: 'recover', onDone: { target: 'running' }, onError: { target: 'failed' } },
      on: { STOP: { target: 'draining' } },
    },
    running: {
      description: 'Accepting commands and subscriptions.',
      on: {
        SUBMIT: { actions: 'submit' },
        CANCEL: { actions: 'cancel' },
        RESULTS: { actions: 'recordResults' },
        SUBSCRIBE: { actions: 'subscribe' },
        CONFIRMED: { actions: 'confirm' },
        WRITTEN: { actions: 'written' },
        REVOKE: { actions: 'revoke' },
        WAKE: { actions: 'wake' },
        OBSERVED: { actions: 'observe' },
        ANNOUNCED: { actions: 'announce' },
        DEADLINES: { actions: 'expireDeadlines' },
        SHED: { actions: 'shed' },
        STOP: { target: 'draining' },
      },
    },
    draining: {
      description: 'Refusing new work, answering open subscriptions, flushing writes.',
      invoke: { src: 'drain', onDone: { target: 'stopped' }, onError: { target: 'stopped' } },
    },
    failed: { type: 'final', description: 'Recovery failed; the process exits with the error.' },
    stopped: { type: 'final' },
  },
});
