import type { CommandMachineEvent } from '../../machines/command.machine.js';
import type { CommandState } from '../domain/command.js';
import { errors } from '../errors.js';
import type { CommandStore } from '../store/store.js';
import type { Clock } from './clock.js';
import type { CommandTable } from './command-table.js';

export interface ResultReport {
  document_id: string;
  code: number;
  message: string;
  data?: unknown;
}

export interface ResultOutcome {
  document_id: string;
  /** `recorded`: this report set the result; `ignored`: the command already had one or had ended. */
  outcome: 'recorded' | 'ignored';
  status: CommandState['status'];
  message: string;
}

/** Results reported by agents and components: exactly one per command, repeats ignored. */
export class Results {
  constructor(
    private readonly store: CommandStore,
    private readonly clock: Clock,
    private readonly table: CommandTable,
    private readonly running: () => boolean,
  ) {}

  /**
   * Records results. With `route`, every command must belong to it (an agent reports only its
   * own); otherwise nothing is recorded.
   */
  async report(reports: ResultReport[], route: string | null, who: string): Promise<ResultOutcome[]> {
    // Live commands are checked in memory, synchronously (the results apply in this turn); the
    // others are read from the store together, not one by one.
    const live = reports.map((report) => this.table.get(report.document_id)?.doc);
    const stored = live.some((doc) => doc === undefined) ? await Promise.all(live.map(async (doc, i) => (doc ? null : await this.store.getCommand(reports[i]!.document_id)))) : [];
    live.forEach((doc, i) => {
      const found = doc ?? stored[i]?.doc;
      // Another agent's command is reported as unknown: an agent learns nothing about others.
      if (!found || (route !== null && found.route !== route)) throw errors.COMMAND_NOT_FOUND(reports[i]!.document_id);
    });
    // On a cluster this node may not hold them (their target's other connection is on another node):
    // the results are about to act on them here.
    for (const state of stored) this.table.pin(state);
    return Promise.all(reports.map((report) => this.record(report, who)));
  }

  private async record(report: ResultReport, who: string): Promise<ResultOutcome> {
    const event = (): CommandMachineEvent => {
      const result: CommandMachineEvent = { type: 'RESULT', at: this.clock.now(), by: who, code: report.code, message: report.message };
      if (report.data !== undefined) result.data = report.data;
      return result;
    };
    const { outcome, target } = await this.table.sendUntilStored(report.document_id, event);
    const recorded = outcome === 'ok';
    // Not taken because the drain began meanwhile (its command may be gone): not ignored, refused.
    if (!recorded && !this.running()) throw errors.SHUTTING_DOWN();
    // The result ended the command: the live one holds the final state (the store need not be read).
    const state = recorded && target ? target.fullState() : (this.table.get(report.document_id)?.fullState() ?? (await this.store.getCommand(report.document_id))!);
    return recorded
      ? { document_id: report.document_id, outcome: 'recorded', status: state.status, message: `Result recorded: ${state.status}` }
      : {
          document_id: report.document_id,
          outcome: 'ignored',
          status: state.status,
          message: state.result ? `Ignored: a result was already recorded (${state.status})` : `Ignored: the command is ${state.status}`,
        };
  }
}
