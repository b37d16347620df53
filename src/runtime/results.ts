import type { CommandMachineEvent } from '../../machines/command.machine.js';
import type { CommandState } from '../domain/command.js';
import { errors } from '../errors.js';
import type { CommandStore } from '../store/store.js';
import type { Clock } from './clock.js';
import type { CommandTable } from './command-table.js';
import type { LiveCommand, WriteOutcome } from './live-command.js';

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
    // Each first try in this turn, then one wait for all their writes: only a result another node's
    // write beat goes the long way (re-read, tried again).
    const at = this.clock.now();
    const targets = reports.map((report) => this.table.get(report.document_id));
    const outcomes = await Promise.all(reports.map((report) => this.table.send(report.document_id, resultEvent(report, at, who)) ?? NOT_TAKEN));
    return Promise.all(reports.map((report, i) => (outcomes[i] === 'conflict' ? this.retry(report, who) : this.outcome(report, outcomes[i] ?? null, targets[i]))));
  }

  /** After a conflict: once the command was re-read, the result is sent again, until stored. */
  private async retry(report: ResultReport, who: string): Promise<ResultOutcome> {
    await this.table.reconciled(report.document_id);
    const { outcome, target } = await this.table.sendUntilStored(report.document_id, () => resultEvent(report, this.clock.now(), who));
    return this.outcome(report, outcome, target);
  }

  /** What the reporter is told; `target`: the live command the result went to. */
  private outcome(report: ResultReport, outcome: WriteOutcome | null, target: LiveCommand | undefined): Promise<ResultOutcome> {
    // Not taken because the drain began meanwhile (its command may be gone): not ignored, refused.
    if (outcome !== 'ok' && !this.running()) throw errors.SHUTTING_DOWN();
    // The result ended the command: the live one holds the final state (the store need not be read).
    if (outcome === 'ok' && target) {
      return Promise.resolve({ document_id: report.document_id, outcome: 'recorded', status: target.status, message: `Result recorded: ${target.status}` });
    }
    return this.ignored(report.document_id);
  }

  private async ignored(documentId: string): Promise<ResultOutcome> {
    const state = this.table.get(documentId)?.state ?? (await this.store.getCommand(documentId))!;
    return {
      document_id: documentId,
      outcome: 'ignored',
      status: state.status,
      message: state.result ? `Ignored: a result was already recorded (${state.status})` : `Ignored: the command is ${state.status}`,
    };
  }
}

/** The write of an event the command did not take: none. */
const NOT_TAKEN: Promise<null> = Promise.resolve(null);

function resultEvent(report: ResultReport, at: number, who: string): CommandMachineEvent {
  const event: CommandMachineEvent = { type: 'RESULT', at, by: who, code: report.code, message: report.message };
  if (report.data !== undefined) event.data = report.data;
  return event;
}
