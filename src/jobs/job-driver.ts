import type { Logger } from 'pino';
import { parse as parseUuid, v5 as uuidV5 } from 'uuid';
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import { jobMachine, type JobMachineEvent, type JobPersistParams } from '../../machines/job.machine.js';
import { AGENT_ROUTE_PREFIX, MAX_ID_LENGTH, SERVER_ROUTE_PREFIX, type CommandSpec, type CommandTarget } from '../domain/command.js';
import type { JobCommand, JobRecord, JobStatus, JobTransitionRecord } from '../domain/job.js';
import { CourierError, errors } from '../errors.js';
import type { Clock } from '../runtime/clock.js';
import type { InspectObserver } from '../runtime/actor-observers.js';
import type { JobStore } from '../store/job-store.js';
import { readJob, type JobReading, type Release } from './job-progress.js';
import { canarySize } from './job-spec.js';
import { windowState } from './maintenance-windows.js';
import { ratePerMinute, ReleaseBudget } from './rollout-rate.js';

/** The namespace of the name-based (v5) UUIDs of a job's commands whose readable id would be too long. */
// As bytes: parsed once, not at each id.
const JOB_COMMAND_IDS = parseUuid('0b6c2f57-3f4e-5d0a-8a61-7c9e1d2b4f30');

/** A read of a job's commands goes back this far before the last one: writes committed late, clocks of other nodes behind. */
const READ_MARGIN_MS = 5000;
/** And reads them all this often, whatever it may have missed. */
const WHOLE_READ_EVERY_MS = 60_000;

/** A job's rounds, while only its progress is to be read, come at most this far apart (ms). */
const LONGEST_REST_MS = 5000;

/**
 * How long a job may rest after a round: while targets wait for the rate's budget or a retry waits
 * for its backoff, not at all; otherwise a little longer the more commands there are to read back
 * (a round of 10,000 took ~40 ms: every second, that was a tenth of a fan-out's time), up to 5 s.
 */
function restAfter(reading: JobReading, commands: number): number {
  if (reading.notStarted.length > 0 || reading.followUps.length > 0 || reading.nextRetryAt !== null) return 0;
  return Math.min(LONGEST_REST_MS, commands / 2);
}

/** Most commands a job creates in one submission (a job at no rate limit over a large fleet goes out in slices). */
const RELEASE_SLICE = 5000;

/** Creates a job's commands (the supervisor's `submit`, with ids it chose); resolves once they are durable. */
export type SubmitJobCommands = (specs: CommandSpec[], who: string, options: { owner: string; idsKnownNew: true }) => Promise<unknown>;

/** What a driver needs of the runtime around it. */
export interface JobDriverDeps {
  store: JobStore;
  submit: SubmitJobCommands;
  /** Cancels a pending command (the supervisor's `cancel`). */
  cancel(documentId: string, who: string): Promise<unknown>;
  clock: Clock;
  node: string;
  logger: Logger;
  /** With inspection on: the job's actor is watched, its events and effects shown. */
  inspect?: InspectObserver;
  /** On a store shared by several nodes: how long this node's hold on a job lasts unless renewed (ms). */
  leaseMs?: number | null;
  /** Told after a transition of the job is stored. */
  onTransition?: () => void;
}

/**
 * The id of the command of one step of a job for one target, in one attempt: the same after a restart,
 * and readable — `<job_id>:<step>:<attempt>:<route>`, e.g. `…:1:2:agent:web-01` (step 1, second attempt).
 * An id that would be longer than an id may be is a name-based UUID of the same parts instead. (A UUID
 * for each of a 10,000-target fan-out took ~70 ms.)
 */
export function jobCommandId(jobId: string, release: Release): string {
  const id = `${jobId}:${release.step}:${release.attempt}:${release.route}`;
  return id.length <= MAX_ID_LENGTH ? id : uuidV5(id, JOB_COMMAND_IDS);
}

function targetOf(route: string): CommandTarget {
  if (route.startsWith(AGENT_ROUTE_PREFIX)) return { type: 'agent', id: route.slice(AGENT_ROUTE_PREFIX.length) };
  return { type: 'server', id: route.slice(SERVER_ROUTE_PREFIX.length) };
}

/**
 * Drives one job: its actor (machines/job.machine.ts) and the named effects of its transitions, the
 * reading of its commands and the release of the next ones at its rate. Everything a driver does runs
 * one step at a time (`run`): a tick, an operator's event, never two at once.
 */
export class JobDriver {
  private readonly actor: Actor<typeof jobMachine>;
  private readonly budget = new ReleaseBudget();
  private chain: Promise<unknown> = Promise.resolve();
  /** What the effects of the last transition asked for, carried out once it is stored. */
  private persisted: JobPersistParams | null = null;
  private cancelling = false;
  private retired = false;
  /** Another node took the job over: this driver stops. */
  private lost = false;
  /**
   * Until when the job may rest between rounds of the node's timer (ms): while every target has
   * started and nothing waits for a time (see `restAfter`). An operator's event, a test's round, do not wait.
   */
  restUntil = 0;
  /** The job's commands as last read, and when they were read (see `read`). */
  private readonly commands = new Map<string, JobCommand>();
  private readAt: number | null = null;
  private wholeReadAt = 0;

  constructor(
    private record: JobRecord,
    private readonly deps: JobDriverDeps,
  ) {
    const machine = jobMachine.provide({
      actions: {
        persist: (_, params) => {
          this.persisted = params;
        },
        cancelUndelivered: () => {
          this.cancelling = true;
        },
        retire: () => {
          this.retired = true;
        },
      },
    });
    const spec = record.spec;
    const inspect = deps.inspect ? { inspect: deps.inspect } : {};
    this.actor = record.snapshot
      ? createActor(machine, { snapshot: record.snapshot as SnapshotFrom<typeof jobMachine>, input: undefined, ...inspect })
      : createActor(machine, {
          ...inspect,
          input: {
            canaryTargets: canarySize(spec, record.targets.length),
            canaryThen: spec.canary ? (spec.canary.then === 'approve' ? 'approve' : { autoAtSuccessPercent: spec.canary.then.auto_at_success_percent }) : 'approve',
            abort: (spec.abort ?? []).map((a) => ({ on: a.on, thresholdPercent: a.threshold_percent, minFinished: a.min_finished })),
            hasWindows: (spec.schedule?.maintenance_windows?.length ?? 0) > 0,
            endBehavior: spec.schedule?.end_behavior ?? 'stop_rollout',
          },
        });
    this.actor.start();
  }

  /** The job's actor (for the inspector). */
  get actorRef(): Actor<typeof jobMachine> {
    return this.actor;
  }

  get id(): string {
    return this.record.id;
  }

  get job(): JobRecord {
    return this.record;
  }

  /** Whether this driver is done with the job: it ended, or another node drives it now. */
  get finished(): boolean {
    return this.retired || this.lost;
  }

  /** The snapshot to store: the machine's, restorable after a restart. */
  private snapshot(): unknown {
    return this.actor.getPersistedSnapshot();
  }

  /** How many of its targets (the first ones) are its canary: fixed when the job began, kept in its machine. */
  private get canaryTargets(): number {
    return this.actor.getSnapshot().context.canaryTargets;
  }

  get status(): JobStatus {
    return this.actor.getSnapshot().value;
  }

  /** Runs `step` after every step before it; a failed step does not stop the ones after. */
  run<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => {});
    return next;
  }

  /** An operator's event (`PAUSE`, `RESUME`, `APPROVE`, `CANCEL`): refused when the job's state takes no such event. */
  control(event: Extract<JobMachineEvent, { type: 'PAUSE' | 'RESUME' | 'APPROVE' | 'CANCEL' }>, verb: string): Promise<JobRecord> {
    return this.run(async () => {
      const snapshot = this.actor.getSnapshot();
      if (this.finished || !snapshot.can(event)) throw errors.JOB_NOT_CONTROLLABLE(this.record.id, this.status, verb);
      await this.step(event, event.by ?? 'courier');
      return this.record;
    });
  }

  /**
   * One round: time-driven events (start, end, windows), then the commands read back and the
   * machine told of them, then what may go out now released.
   */
  tick(): Promise<void> {
    return this.run(async () => {
      if (this.finished) return;
      const now = this.deps.clock.now();
      await this.renewLease(now);
      await this.timeEvents(now);
      const startAt = this.record.spec.schedule?.start_at;
      if (this.status === 'scheduled' && now >= (startAt ? Date.parse(startAt) : this.record.createdAt)) await this.step({ type: 'START', at: now });
      if (this.retired) return;
      const reading = await this.read(now);
      this.restUntil = now + restAfter(reading, this.commands.size);
      await this.step({ type: 'PROGRESS', at: now, ...reading.progress });
      if (this.retired) return;
      if (this.actor.getSnapshot().hasTag('releasing')) await this.releaseDue(reading, now);
      else this.budget.hold();
    });
  }

  /**
   * The job's commands read back: those changed since the last read (and a margin, for writes
   * committed late or by a node whose clock is behind), merged into what was read before; all of
   * them at first and every minute.
   */
  async read(now: number): Promise<JobReading> {
    const whole = this.readAt === null || now - this.wholeReadAt >= WHOLE_READ_EVERY_MS;
    const changed = await this.deps.store.commands(this.record.id, whole ? undefined : this.readAt! - READ_MARGIN_MS);
    if (whole) {
      this.commands.clear();
      this.wholeReadAt = now;
    }
    for (const command of changed) this.commands.set(command.document_id, command);
    this.readAt = now;
    return readJob(this.record.spec, this.record.targets, [...this.commands.values()], this.canaryTargets, now);
  }

  private async timeEvents(now: number): Promise<void> {
    const { schedule } = this.record.spec;
    if (schedule?.end_at && now >= Date.parse(schedule.end_at)) {
      await this.step({ type: 'END', at: now });
      return;
    }
    const windows = schedule?.maintenance_windows;
    if (windows?.length) {
      const open = windowState(windows, now).open;
      if (open !== this.actor.getSnapshot().context.windowOpen) await this.step({ type: open ? 'WINDOW_OPENED' : 'WINDOW_CLOSED', at: now });
    }
  }

  /** Sends the machine an event and carries out what its transition asked for: stored first, then the rest. */
  private async step(event: JobMachineEvent, by = 'courier'): Promise<void> {
    const from = this.status;
    this.actor.send(event);
    const persisted = this.persisted;
    const cancelling = this.cancelling;
    this.persisted = null;
    this.cancelling = false;
    if (!persisted) return;
    const now = this.deps.clock.now();
    const to = this.status;
    const abortReason = this.actor.getSnapshot().context.abortReason;
    const next: JobRecord = { ...this.record, status: to, updatedAt: now, snapshot: this.snapshot(), abortReason };
    await this.write(next, {
      job_id: next.id,
      from,
      to,
      cause: persisted.cause,
      at: now,
      node: this.deps.node,
      actor: by,
      detail: to === 'aborted' ? (abortReason ?? undefined) : undefined,
    });
    this.deps.logger.info({ job: next.id, from, to, cause: persisted.cause, by }, 'job transition');
    this.deps.onTransition?.();
    if (cancelling) await this.cancelUndelivered(by);
  }

  /** Cancels the job's pending commands; those under way run to their end. */
  private async cancelUndelivered(by: string): Promise<void> {
    const commands = await this.deps.store.commands(this.record.id);
    for (const command of commands) {
      if (command.status !== 'pending') continue;
      try {
        await this.deps.cancel(command.document_id, by);
      } catch (error) {
        // Claimed meanwhile: it is under way, and runs to its end.
        if (!(error instanceof CourierError && error.code === errors.COMMAND_NOT_CANCELLABLE.code)) throw error;
      }
    }
  }

  /** Sends what may go out now: next steps and retries of started targets, then new targets at the rate. */
  private async releaseDue(reading: JobReading, now: number): Promise<void> {
    const canary = this.actor.getSnapshot().hasTag('canary') ? this.canaryTargets : Infinity;
    const started = this.record.targets.length - reading.notStarted.length;
    const room = Math.max(0, canary - started);
    const fresh = Math.min(room, this.budget.available(now, ratePerMinute(this.record.spec.rollout, reading)), reading.notStarted.length);
    const releases: Release[] = [...reading.followUps, ...reading.notStarted.slice(0, fresh).map((route) => ({ route, step: 0, attempt: 1 }))];
    for (let from = 0; from < releases.length; from += RELEASE_SLICE) await this.submit(releases.slice(from, from + RELEASE_SLICE));
    this.budget.spend(fresh);
  }

  private async submit(releases: Release[]): Promise<void> {
    const job = this.record;
    const specs = releases.map((release): CommandSpec => {
      const step = job.spec.steps[release.step]!;
      return {
        source: 'job',
        target: targetOf(release.route),
        action: step.action,
        timeout: step.timeout,
        document_id: jobCommandId(job.id, release),
        request_id: job.id,
        job: { id: job.id, step: release.step, attempt: release.attempt },
      };
    });
    try {
      await this.deps.submit(specs, `job:${job.id}`, { owner: job.owner, idsKnownNew: true });
    } catch (error) {
      if (!(error instanceof CourierError && error.code === errors.UNKNOWN_AGENT.code)) throw error;
      // An agent removed since the job began: the others go out one by one, and it leaves the job.
      const gone = new Set<string>();
      for (const spec of specs) {
        try {
          await this.deps.submit([spec], `job:${job.id}`, { owner: job.owner, idsKnownNew: true });
        } catch (err) {
          if (!(err instanceof CourierError && err.code === errors.UNKNOWN_AGENT.code)) throw err;
          gone.add(`${AGENT_ROUTE_PREFIX}${spec.target.id}`);
        }
      }
      if (gone.size > 0) await this.dropTargets(gone);
    }
  }

  private async dropTargets(gone: Set<string>): Promise<void> {
    await this.write({ ...this.record, targets: this.record.targets.filter((route) => !gone.has(route)), updatedAt: this.deps.clock.now() }, null);
    this.deps.logger.warn({ job: this.record.id, targets: [...gone] }, 'agents removed since the job began leave it');
  }

  /** Adds targets that joined a targeted group (a continuous job). */
  async addTargets(routes: string[]): Promise<void> {
    return this.run(async () => {
      const known = new Set(this.record.targets);
      const added = routes.filter((route) => !known.has(route));
      if (added.length === 0 || this.retired) return;
      await this.write({ ...this.record, targets: [...this.record.targets, ...added], updatedAt: this.deps.clock.now() }, null);
    });
  }

  /**
   * Stores the job. On a store shared by several nodes every write renews this node's lease on the
   * job, on the version last read: a job another node wrote since (it took the job over) is refused,
   * and this driver lets it go.
   */
  private async write(next: JobRecord, audit: JobTransitionRecord | null): Promise<void> {
    const { leaseMs, node, clock, store } = this.deps;
    const leased: JobRecord = leaseMs ? { ...next, lease: { node, until: clock.now() + leaseMs } } : next;
    try {
      const version = await store.save(leased, audit);
      this.record = version === undefined ? leased : { ...leased, version };
    } catch (error) {
      if (error instanceof CourierError && error.code === errors.JOB_LEASE_LOST.code) this.lost = true;
      throw error;
    }
  }

  /** Renews the lease once half of it has passed (a store shared by several nodes). */
  private async renewLease(now: number): Promise<void> {
    const { leaseMs } = this.deps;
    if (!leaseMs || (this.record.lease && this.record.lease.until - now > leaseMs / 2)) return;
    await this.write(this.record, null);
  }

  /** Gives the job up (a graceful stop): another node may take it at once rather than after the lease. */
  release(): Promise<void> {
    return this.run(async () => {
      if (!this.deps.leaseMs || this.retired || this.lost) return;
      try {
        const version = await this.deps.store.save({ ...this.record, lease: null }, null);
        this.record = { ...this.record, lease: null, ...(version !== undefined ? { version } : {}) };
      } catch (err) {
        this.deps.logger.warn({ err, job: this.record.id }, 'the lease of a job was not given up; another node takes it once it lapses');
      }
    });
  }

  stop(): void {
    this.actor.stop();
  }
}
