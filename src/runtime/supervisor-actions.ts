import type { SupervisorEvent } from '../../machines/supervisor.machine.js';
import type { CommandState } from '../domain/command.js';
import { errors } from '../errors.js';
import type { Clock } from './clock.js';
import type { CommandTable } from './command-table.js';
import type { Dispatcher } from './dispatcher.js';
import type { Producers } from './producers.js';
import type { Results } from './results.js';
import type { RouteAffinity } from './route-affinity.js';
import type { SupervisorRequests } from './supervisor-events.js';
import { answer, answerNow, notice } from './supervisor-mailbox.js';
import type { Subscriptions } from './subscriptions.js';

/** The parts of the runtime the supervisor's actions hand events to. */
export interface SupervisorParts {
  table: CommandTable;
  dispatcher: Dispatcher;
  subscriptions: Subscriptions;
  producers: Producers;
  results: Results;
  clock: Clock;
  /** Wakes the live feeds (others' transitions are in the audit trail too). */
  notifyCommitted: () => void;
  /** On a cluster, which routes this node serves (absent: a node alone on its store holds everything). */
  affinity: RouteAffinity | null;
}

type Action = (args: { event: SupervisorEvent }) => void;

/** What each edge event does: the supervisor machine's actions, by name (machines/supervisor.machine.ts). */
export function edgeActions(parts: SupervisorParts): Record<string, Action> {
  const { table, dispatcher, subscriptions, producers, results, clock } = parts;
  /** Commands as stored now, made live (or brought to that state) here; the live feeds are woken. */
  const takeAll = (states: CommandState[]) => {
    const now = clock.now();
    for (const state of states) table.take(state, now, false);
    if (states.length > 0) parts.notifyCommitted();
  };
  return {
    submit: ({ event }) => answer(event, (r: SupervisorRequests['SUBMIT']['request']) => producers.submit(r.specs, r.who, r.options)),
    cancel: ({ event }) => answer(event, (r: SupervisorRequests['CANCEL']['request']) => producers.cancel(r.documentId, r.who)),
    recordResults: ({ event }) =>
      answer(event, (r: SupervisorRequests['RESULTS']['request']) => {
        if (r.confirmed) subscriptions.confirm(r.confirmed.subscription, r.confirmed.documentIds);
        return results.report(r.reports, r.route, r.who);
      }),
    subscribe: ({ event }) => answerNow(event, (r: SupervisorRequests['SUBSCRIBE']['request']) => subscriptions.open(r.route, r.mode, r.who, r.transport, r.options)),
    confirm: ({ event }) => answerNow(event, (r: SupervisorRequests['CONFIRMED']['request']) => subscriptions.confirm(r.subscription, r.documentIds)),
    written: ({ event }) => subscriptions.written(notice<'WRITTEN'>(event)),
    unsubscribe: ({ event }) => {
      const subscription = notice<'UNSUBSCRIBED'>(event);
      subscriptions.close(subscription);
      parts.affinity?.unsubscribed(subscription.route, clock.now());
    },
    revoke: ({ event }) => subscriptions.revoke(notice<'REVOKE'>(event)),
    wake: ({ event }) => dispatcher.markDirty(notice<'WAKE'>(event)),
    observe: ({ event }) => takeAll(notice<'OBSERVED'>(event)),
    // Read when the notice came: a command this node holds already is at least as new here (its tail,
    // or its own claim since, came first), and a read from before its claim must not undo it.
    announce: ({ event }) => takeAll(notice<'ANNOUNCED'>(event).filter((state) => !table.get(state.doc.document_id))),
    expireDeadlines: ({ event }) => {
      const at = clock.now();
      dispatcher.releasing(() => {
        for (const id of notice<'DEADLINES'>(event)) void table.send(id, { type: 'DEADLINE', at });
      });
    },
    shed: () => {
      const now = clock.now();
      table.shed(now);
      parts.affinity?.prune(now);
    },
    refuse: ({ event }) =>
      answerNow(event, () => {
        throw errors.SHUTTING_DOWN();
      }),
  };
}
