import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CommandDocument, CommandSpec, CommandState, CommandView } from '../domain/command.js';
import { commandView, createdState, INITIAL_STATUS } from '../domain/command.js';
import { CourierError, errors, withDetails } from '../errors.js';
import type { TransitionRecord } from '../store/records.js';
import type { CommandStore } from '../store/store.js';
import type { Clock } from './clock.js';
import { SYSTEM } from './command-effects.js';
import { commandDocument, CreationTimes, planCommands, type CommandPlan } from './command-factory.js';
import type { CommandTable } from './command-table.js';
import { CreatesPartlyFailed, type WriteBatcher } from './write-batcher.js';

export interface SubmitOptions {
  /** Who creates the commands (`socket`, `key:<id>`): kept with each, it owns their request. */
  owner?: string;
  /** The producer's idempotency key: a retry under it names the same commands (see `planCommands`). */
  idempotencyKey?: string | undefined;
  /**
   * The producer chose the ids and knows them to be new (a job's, derived from job, step, attempt and
   * target, and read back before): they are not looked up before the write. One that exists after all
   * is not written again (a store refuses a second create of an id), and is answered as it stands.
   */
  idsKnownNew?: boolean;
}

export interface ProducersOptions {
  store: CommandStore;
  clock: Clock;
  node: string;
  /** Most commands one request may create (group targets count each member). */
  maxCommandsPerRequest: number;
  running: () => boolean;
  /** The next creation sequence number. */
  nextSeq: () => number;
  /** Why the store cannot take a create now, or null (see `SupervisorOptions.storeProblem`). */
  storeProblem: () => string | null;
  /** Told of each slice of commands stored (see `SupervisorOptions.onCreated`). */
  onCreated?: ((docs: CommandDocument[]) => void) | undefined;
}

/**
 * Commands of one request written (and made live) at a time, the event loop free between two
 * slices. 1,000 takes ~40 ms on a small machine (a transaction and its commands); 5,000 took ~200.
 */
const CREATE_SLICE = 1000;

/** What producers ask of the supervisor: create commands, cancel one. */
export class Producers {
  constructor(
    private readonly options: ProducersOptions,
    private readonly table: CommandTable,
    private readonly writes: WriteBatcher,
  ) {}

  /** The command as it stands now: the live one if unfinished, else the store's. */
  async get(documentId: string): Promise<CommandState | null> {
    const live = this.table.get(documentId);
    return live ? live.fullState() : this.options.store.getCommand(documentId);
  }

  /**
   * Creates commands; resolves once they are durable. `who` (one for all, or per command) is
   * recorded in the audit trail.
   */
  async submit(specs: CommandSpec[], who: string | ((spec: CommandSpec) => string), options: SubmitOptions = {}): Promise<CommandView[]> {
    // Known unhealthy: told at once, rather than after the store's request timeout.
    const problem = this.options.storeProblem();
    if (problem !== null) throw errors.STORE_UNAVAILABLE(problem);
    // Commands pushed with a document_id that courier already has are adopted, not duplicated.
    const existing = options.idsKnownNew ? specs.map(() => null) : await Promise.all(specs.map((spec) => (spec.document_id ? this.get(spec.document_id) : Promise.resolve(null))));
    assertAdoptable(specs, existing);
    const fresh = specs.filter((_, i) => !existing[i]);
    const views = new Map<string, CommandView>();
    let plan: CommandPlan | null = null;
    if (fresh.length > 0) {
      plan = await planCommands(fresh, this.options.store, {
        maxCommands: this.options.maxCommandsPerRequest,
        owner: options.owner ?? SYSTEM,
        idempotencyKey: options.idempotencyKey,
      });
      if (options.idempotencyKey !== undefined) await this.assertSameRequest(plan, options.idempotencyKey);
      await this.createPlanned(plan, typeof who === 'string' ? () => who : who, views);
    }
    // The answer lists, in the order asked, every document: adopted ones, and each member of a group.
    let nextFresh = 0;
    return specs.flatMap((_, i) => {
      const found = existing[i];
      if (found) return [commandView(found)];
      return plan!.commands[nextFresh++]!.map((c) => views.get(c.documentId)!);
    });
  }

  async cancel(documentId: string, who: string): Promise<CommandView> {
    if (!this.table.get(documentId)) {
      const state = await this.get(documentId);
      if (!state) throw errors.COMMAND_NOT_FOUND(documentId);
      // On a cluster, an unfinished command may be held by the node its target is connected to only.
      this.table.pin(state);
      if (!this.table.get(documentId)) throw errors.COMMAND_NOT_CANCELLABLE(documentId, state.status);
    }
    const { outcome, target } = await this.table.sendUntilStored(documentId, () => ({ type: 'CANCEL', at: this.options.clock.now(), by: who }));
    if (outcome !== 'ok') {
      const state = await this.get(documentId);
      throw errors.COMMAND_NOT_CANCELLABLE(documentId, state?.status ?? 'gone');
    }
    return target!.view();
  }

  /**
   * A retry under the same idempotency key names the same commands: those that exist must be the
   * ones asked for (same target and action), or the key is being reused for another request.
   */
  private async assertSameRequest(plan: CommandPlan, key: string): Promise<void> {
    for (const [i, commands] of plan.commands.entries()) {
      const first = commands[0];
      const found = first && (await this.get(first.documentId))?.doc.command;
      const spec = plan.specs[i]!;
      if (found && (found.target.type !== spec.target.type || found.target.id !== spec.target.id || found.action.name !== spec.action.name)) {
        throw errors.IDEMPOTENCY_KEY_REUSED(key);
      }
    }
  }

  /**
   * Writes planned commands, a slice at a time, yielding to the event loop between batches:
   * a fan-out of 50,000 commands would otherwise hold it for seconds. Each batch is durable and
   * live before the next is built. If a batch fails after others were stored, the stored ones run
   * and the producer is told which (a retry with the same idempotency key completes the rest).
   */
  private async createPlanned(plan: CommandPlan, actorOf: (spec: CommandSpec) => string, views: Map<string, CommandView>): Promise<void> {
    try {
      await this.createSlices(plan, actorOf, views);
    } catch (error) {
      // The store may have written them: the producer is given what it needs to find out, or to retry without making any twice.
      if (error instanceof CourierError && error.code === errors.STORE_OUTCOME_UNKNOWN.code) {
        throw withDetails(error, { request_id: plan.requestId, document_ids: plan.commands.flat().map((c) => c.documentId) });
      }
      throw error;
    }
  }

  private async createSlices(plan: CommandPlan, actorOf: (spec: CommandSpec) => string, views: Map<string, CommandView>): Promise<void> {
    const { clock, node } = this.options;
    const times = new CreationTimes(clock.now());
    const now = times.now;
    const planned = plan.commands.flat();
    const stored: string[] = [];
    for (let from = 0; from < planned.length; from += CREATE_SLICE) {
      if (from > 0) {
        await nextTurn();
        if (!this.options.running()) throw partlyStored(errors.SHUTTING_DOWN(), stored, planned.length);
      }
      const docs = planned.slice(from, from + CREATE_SLICE).map((c) => commandDocument(plan, c, times, this.options.nextSeq()));
      const creates = docs.map((doc, i): { doc: CommandDocument; audit: TransitionRecord } => ({
        doc,
        audit: { document_id: doc.document_id, from: null, to: INITIAL_STATUS, cause: 'created', at: now, node, actor: actorOf(plan.specs[planned[from + i]!.specIndex]!) },
      }));
      let created: boolean[];
      try {
        created = await this.writes.create(creates);
      } catch (error) {
        // The store wrote some of them (durable, audited as created): they run like any other
        // command, and the producer is told which were stored and why the others were not.
        if (error instanceof CreatesPartlyFailed) {
          error.created.forEach((ok, i) => ok && this.table.adopt(createdState(docs[i]!)) && stored.push(docs[i]!.document_id));
        }
        if (stored.length === 0) throw error instanceof CreatesPartlyFailed ? error.error : error;
        throw partlyStored(error instanceof CreatesPartlyFailed ? error.error : error, stored, planned.length);
      }
      this.options.onCreated?.(docs.filter((_, i) => created[i]));
      for (const [i, doc] of docs.entries()) {
        if (created[i]) {
          views.set(doc.document_id, this.table.adopt(createdState(doc))!.view()); // built here from the clock: its times are finite
          stored.push(doc.document_id);
        } else {
          // It exists already: a retry under the same idempotency key, or another request adopted the id a moment earlier.
          views.set(doc.document_id, commandView((await this.get(doc.document_id))!));
        }
      }
    }
  }
}

/** An adopted document_id must name the same command; one id may not name two commands of a request. */
function assertAdoptable(specs: CommandSpec[], existing: (CommandState | null)[]): void {
  const seen = new Set<string>();
  for (const [i, spec] of specs.entries()) {
    const id = spec.document_id;
    if (!id) continue;
    if (seen.has(id)) throw errors.DOCUMENT_ID_CONFLICT(id, 'appears more than once in the request');
    seen.add(id);
    const found = existing[i]?.doc.command;
    if (found && (found.target.type !== spec.target.type || found.target.id !== spec.target.id || found.action.name !== spec.action.name)) {
      throw errors.DOCUMENT_ID_CONFLICT(id, 'already exists with a different target or action');
    }
  }
}

/** What a producer is told when only some of its commands were stored: the failure's code, and which ones were. */
function partlyStored(error: unknown, stored: string[], total: number): unknown {
  const named = stored.length > 20 ? `${stored.slice(0, 20).join(', ')}, …` : stored.join(', ');
  const which = `${stored.length} of the ${total} commands were stored and will run: ${named}`;
  return error instanceof CourierError
    ? new CourierError(error.code, error.statusCode, `${error.message} (${which})`, {
        wireCode: error.wireCode,
        retryAfterS: error.retryAfterS,
        cause: error,
        details: error.details,
      })
    : error;
}
