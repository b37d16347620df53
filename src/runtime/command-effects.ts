import type { StatusChange } from '../store/store.js';
import type { CommandTable } from './command-table.js';
import type { Dispatcher } from './dispatcher.js';
import type { CommandEffects } from './live-command.js';
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
  return {
    persist(command, { event, from }, { cause, claim }) {
      const id = command.doc.document_id;
      const state = command.state;
      const change: StatusChange = {
        document_id: id,
        seq: command.doc.seq,
        ...state,
        claim: claim ? { node, until: event.at + claimLeaseMs } : null,
        audit: { document_id: id, from, to: state.status, cause, at: event.at, node, actor: ('by' in event && event.by) || SYSTEM },
      };
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
