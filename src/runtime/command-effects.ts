import type { StatusChange } from '../store/store.js';
import type { CommandTable } from './command-table.js';
import type { Dispatcher } from './dispatcher.js';
import type { CommandEffects, Step } from './live-command.js';
import { groupsSetBy } from '../domain/agent-groups.js';
import type { WriteBatcher } from './write-batcher.js';

/** Who the audit trail names when courier itself caused a transition (a deadline, a recovery). */
export const SYSTEM = 'courier';

export interface CommandEffectsDeps {
  table: CommandTable;
  dispatcher: Dispatcher;
  writes: WriteBatcher;
  /** This node's name, recorded in every audit record and claim. */
  node: string;
  /** How long a claim holds before another node may deliver the command again (ms). */
  claimLeaseMs: number;
  /** Dispatch latency: from the moment a command and a subscriber of its target coexist to delivery. */
  onDelivered?: ((latencyMs: number) => void) | undefined;
}

/**
 * The effects the command machine names (machines/command.machine.ts), implemented. Each runs
 * because the machine listed it for the transition being taken, never because a status changed.
 */
export function commandEffects({ table, dispatcher, writes, node, claimLeaseMs, onDelivered }: CommandEffectsDeps): CommandEffects {
  const actorOf = (event: Step['event']) => ('by' in event && event.by) || SYSTEM;
  return {
    applyResult(command, { event }) {
      // Only a set-group to an agent, with groups the registry takes, changes anything.
      const groups = groupsSetBy(command.doc);
      if (groups === null) return;
      const { doc } = command;
      command.membership = { agent_id: doc.agent.id!, groups, document_id: doc.document_id, cause: 'set-group', at: event.at, node, actor: actorOf(event) };
    },
    persist(command, { event, from }, { cause, claim }) {
      const id = command.doc.document_id;
      const { status, result, deliveredAt, executionDeadline, attempts } = command.state;
      // Spelled out, not spread: one of these per transition is built on the hot path.
      const change: StatusChange = {
        document_id: id,
        seq: command.doc.seq,
        status,
        result,
        deliveredAt,
        executionDeadline,
        attempts,
        claim: claim ? { node, until: event.at + claimLeaseMs } : null,
        audit: { document_id: id, from, to: status, cause, at: event.at, node, actor: actorOf(event) },
      };
      if (command.membership) change.membership = command.membership;
      command.membership = null;
      command.write = table.track(id, writes.change(change));
    },
    enqueue(command, { event }) {
      command.readySince = event.at;
      dispatcher.enqueue(command);
    },
    handToConnection(command, { event }) {
      dispatcher.handOut(command.doc.document_id, event.type === 'CLAIM' ? event.subscription : undefined);
    },
    releaseFromConnection(command) {
      dispatcher.release(command.doc.document_id);
    },
    armExecutionDeadline(command) {
      const { executionDeadline } = command.state;
      if (executionDeadline !== null) table.armDeadline(executionDeadline, command.doc.document_id);
    },
    observeDelivery(command, { event }) {
      onDelivered?.(event.at - command.readySince);
    },
    retire(command) {
      // Kept until its final state is durable, so that reads never see an older state (or until
      // the write was refused: then the re-read brings the stored state back).
      const forget = () => {
        table.forget(command);
        dispatcher.pruneSmallQueue(command.doc.route);
      };
      if (command.write) void command.write.then(forget, forget);
      else forget();
    },
  };
}
