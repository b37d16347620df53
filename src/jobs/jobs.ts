import type { Logger } from 'pino';
import { v7 as uuidV7 } from 'uuid';
import type { AnyActorRef } from 'xstate';
import { guardInspect, type InspectObserver } from '../runtime/actor-observers.js';
import { agentRoute, serverRoute } from '../domain/command.js';
import { FINAL_JOB_STATUSES, JOB_STATUSES, type JobRecord, type JobSpec, type JobStatus } from '../domain/job.js';
import { CourierError, errors } from '../errors.js';
import type { Clock } from '../runtime/clock.js';
import type { LiveStateTally } from '../domain/live-states.js';
import { jobMachine } from '../../machines/job.machine.js';
import type { JobStore } from '../store/job-store.js';
import type { Page, PageOf } from '../store/operator-store.js';
import type { CommandStore } from '../store/store.js';
import { JobDriver, type SubmitJobCommands } from './job-driver.js';
import { readJob, type JobReading } from './job-progress.js';
import { canarySize } from './job-spec.js';
import { ratePerMinute } from './rollout-rate.js';
import { windowState } from './maintenance-windows.js';

export interface JobsOptions {
  store: CommandStore;
  submit: SubmitJobCommands;
  cancel(documentId: string, who: string): Promise<unknown>;
  clock: Clock;
  node: string;
  logger: Logger;
  /** Most targets one job may reach. */
  maxTargets: number;
  /** How often each job is driven: time events, its commands read back, the next released (ms). */
  tickMs: number;
  /** With inspection on: every job's actor is watched. */
  inspect?: InspectObserver;
  /** Told after a job's transition (its audit record) is stored: the live feeds show it at once. */
  onTransition?: () => void;
  /**
   * On a store shared by several nodes: how long a node's hold on a job lasts unless renewed (ms). A
   * job is driven by one node at a time; another takes it over once its lease lapsed. Null: this node
   * alone drives every job of its store.
   */
  leaseMs: number | null;
}

/** A job as the API shows it: the record, and where its rollout stands. */
export interface JobDetail {
  job: JobRecord;
  reading: JobReading;
  ratePerMinute: number | null;
  nextWindowAt: number | null;
  /** The node driving it now (null: none, it has ended or its node's lease lapsed). */
  drivenBy: string | null;
}

export type JobControl = 'pause' | 'resume' | 'approve' | 'cancel';
const CONTROL_EVENTS = { pause: 'PAUSE', resume: 'RESUME', approve: 'APPROVE', cancel: 'CANCEL' } as const;
const CONTROL_VERBS = { pause: 'paused', resume: 'resumed', approve: 'approved', cancel: 'cancelled' } as const;

/** Groups of continuous jobs are read again this often for agents that joined them. */
const CONTINUOUS_REREAD_MS = 10_000;

/**
 * The jobs of this node: created here, driven here (each by its `JobDriver`, one tick at a time),
 * resumed after a restart from their stored state.
 */
export class Jobs {
  private readonly drivers = new Map<string, JobDriver>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private lastReread = 0;
  private lastTakeOver = 0;
  private commandsMade = 0;

  constructor(private readonly options: JobsOptions) {}

  private get store(): JobStore {
    const jobs = this.options.store.jobs;
    if (!jobs) throw errors.JOBS_NOT_SUPPORTED(this.options.store.kind);
    return jobs;
  }

  /** The jobs driven here by status, and the commands they made since the start. */
  stats(): { byStatus: Record<JobStatus, number>; commandsMade: number } {
    const byStatus = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
    for (const driver of this.drivers.values()) byStatus[driver.status]++;
    return { byStatus, commandsMade: this.commandsMade };
  }

  /** Where the jobs driven here stand (for the console's live machines). */
  tallyLiveStates(tally: LiveStateTally): void {
    for (const driver of this.drivers.values()) tally.add(jobMachine.id, driver.id, driver.status);
  }

  /** The actors of the jobs driven here (for the inspector). */
  *actors(): Generator<AnyActorRef> {
    for (const driver of this.drivers.values()) yield driver.actorRef;
  }

  /** Resumes the jobs not finished when the node stopped (on a cluster: those no other node holds), and starts driving them. */
  async start(): Promise<void> {
    if (!this.options.store.jobs) return;
    if (this.options.leaseMs) await this.takeOver();
    else for (const job of await this.store.unfinished()) this.drive(job);
    this.timer = setInterval(() => void this.rounds(false), this.options.tickMs);
    this.timer.unref();
  }

  /** Stops driving; on a cluster the jobs are given up, for another node to take at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await Promise.all(
      [...this.drivers.values()].map(async (driver) => {
        await driver.release();
        await driver.run(async () => driver.stop());
      }),
    );
    this.drivers.clear();
  }

  /**
   * Takes the unfinished jobs no node holds (never held, given up, or whose lease lapsed: its node
   * died), each by a conditional write of this node's lease: of two nodes taking one job, one wins.
   */
  private async takeOver(): Promise<void> {
    const now = this.options.clock.now();
    this.lastTakeOver = now;
    for (const job of await this.store.unfinished()) {
      if (this.drivers.has(job.id)) continue;
      const held = job.lease && job.lease.until > now && job.lease.node !== this.options.node;
      if (held) continue;
      try {
        await this.take(job);
        this.options.logger.info({ job: job.id, from: job.lease?.node ?? null }, 'job taken over');
      } catch (err) {
        if (!(err instanceof CourierError && err.code === errors.JOB_LEASE_LOST.code)) throw err;
      }
    }
  }

  /** Writes this node's lease on the job (on the version read), and drives it. */
  private async take(job: JobRecord): Promise<JobDriver> {
    const leased: JobRecord = { ...job, lease: { node: this.options.node, until: this.options.clock.now() + this.options.leaseMs! } };
    const version = await this.store.save(leased, null);
    return this.drive(version === undefined ? leased : { ...leased, version });
  }

  /** Creates a job reaching `targets` (see `resolveTargets`): stored with its first audit record, then driven. */
  async create(spec: JobSpec, targets: string[], owner: string, who: string): Promise<JobRecord> {
    const store = this.store;
    const now = this.options.clock.now();
    const { leaseMs, node } = this.options;
    const job: JobRecord = {
      // Time-ordered (UUID v7): its commands' ids begin with it (see jobCommandId), so that a job's
      // fan-out is written at the end of the store's index of ids, as other commands are.
      id: uuidV7(),
      spec,
      status: 'scheduled',
      targets,
      createdAt: now,
      owner,
      updatedAt: now,
      snapshot: null,
      abortReason: null,
      lease: leaseMs ? { node, until: now + leaseMs } : null,
    };
    const version = await store.add(job, { job_id: job.id, from: null, to: 'scheduled', cause: 'created', at: now, node, actor: who });
    this.options.onTransition?.();
    const driver = this.drive(version === undefined ? job : { ...job, version });
    // Its first round at once: a job with no start time starts now, not at the next tick.
    await this.firstRound(driver);
    return driver.job;
  }

  /** The targets a job reaches: agents (registered), every member of its groups, server components; each once. */
  async resolveTargets(spec: JobSpec): Promise<string[]> {
    const { store, maxTargets } = this.options;
    const routes = new Set<string>();
    const add = (route: string) => {
      routes.add(route);
      if (routes.size > maxTargets) throw errors.TOO_MANY_TARGETS(maxTargets);
    };
    const agents = spec.targets.agents ?? [];
    if (agents.length > 0) {
      const known = await store.agentGroups(agents);
      for (const id of agents) {
        if (!known.has(id)) throw errors.UNKNOWN_AGENT(id);
        add(agentRoute(id));
      }
    }
    for (const group of spec.targets.groups ?? []) {
      const members = await store.agentsInGroup(group, maxTargets + 1);
      if (members.length === 0 && !spec.continuous) throw errors.EMPTY_GROUP(group);
      for (const member of members) add(agentRoute(member.id));
    }
    for (const module of spec.targets.servers ?? []) add(serverRoute(module));
    return [...routes];
  }

  /** A job as it stands: the live one (a node alone on its store), or the stored one (a cluster, where another node may have taken it over). */
  async get(id: string): Promise<JobRecord> {
    const live = this.options.leaseMs ? undefined : this.drivers.get(id);
    if (live) return live.job;
    const job = await this.store.get(id);
    if (!job) throw errors.JOB_NOT_FOUND(id);
    return job;
  }

  /** A job and where its rollout stands now. */
  async detail(id: string): Promise<JobDetail> {
    const job = await this.get(id);
    const now = this.options.clock.now();
    const reading = readJob(job.spec, job.targets, await this.store.commands(id), canarySize(job.spec, job.targets.length), now);
    const windows = job.spec.schedule?.maintenance_windows;
    const window = windows?.length && !FINAL_JOB_STATUSES.has(job.status) ? windowState(windows, now) : null;
    const drivenBy = job.lease ? (job.lease.until > now ? job.lease.node : null) : this.drivers.has(id) ? this.options.node : null;
    return { job, reading, ratePerMinute: ratePerMinute(job.spec.rollout, reading), nextWindowAt: window && !window.open ? window.changesAt : null, drivenBy };
  }

  list(filter: { status?: JobStatus[] | undefined }, page: Page): Promise<PageOf<JobRecord>> {
    return this.store.list(filter, page);
  }

  /**
   * An operator pauses, resumes, approves or cancels a job; answered once the new state is stored. On
   * a cluster, a job driven by another node is taken over first: the node asked drives it from now on.
   */
  async control(id: string, action: JobControl, who: string): Promise<JobRecord> {
    // The node that drove it may write it between our read and our write: read again, a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.controlOnce(id, action, who);
      } catch (error) {
        const lost = error instanceof CourierError && error.code === errors.JOB_LEASE_LOST.code;
        if (!lost || attempt === 3) throw error;
        this.drivers.delete(id);
      }
    }
  }

  private async controlOnce(id: string, action: JobControl, who: string): Promise<JobRecord> {
    let driver = this.drivers.get(id);
    // A driver that lost its job to another node, not let go yet: the job is read again.
    if (driver?.finished) {
      this.drivers.delete(id);
      driver = undefined;
    }
    if (!driver) {
      const job = await this.store.get(id);
      if (!job) throw errors.JOB_NOT_FOUND(id);
      if (FINAL_JOB_STATUSES.has(job.status) || !this.options.leaseMs) throw errors.JOB_NOT_CONTROLLABLE(id, job.status, CONTROL_VERBS[action]);
      driver = await this.take(job);
    }
    await driver.control({ type: CONTROL_EVENTS[action], at: this.options.clock.now(), by: who }, CONTROL_VERBS[action]);
    if (driver.finished) this.drivers.delete(id);
    // A resumed or approved job goes on at once, not at the next tick.
    else if (action === 'resume' || action === 'approve') await this.firstRound(driver);
    return driver.job;
  }

  /** Drives every job one round now, resting or not; finished ones are let go. */
  tickAll(): Promise<void> {
    return this.rounds(true);
  }

  /** A round of the jobs (the node's timer: those not resting); finished ones are let go. */
  private async rounds(all: boolean): Promise<void> {
    // One round at a time: the timer skips a turn while one runs; a round asked for (`tickAll`) comes after it.
    if (this.ticking && !all) return;
    while (this.ticking) await this.ticking;
    this.ticking = (async () => {
      const now = this.options.clock.now();
      const { leaseMs } = this.options;
      if (leaseMs && now - this.lastTakeOver >= Math.max(1000, leaseMs / 3)) {
        try {
          await this.takeOver();
        } catch (err) {
          this.options.logger.error({ err }, 'the jobs no node holds could not be read; tried again at the next round');
        }
      }
      const reread = now - this.lastReread >= CONTINUOUS_REREAD_MS;
      if (reread) this.lastReread = now;
      for (const driver of [...this.drivers.values()]) {
        try {
          if (reread && driver.job.spec.continuous) await driver.addTargets(await this.resolveTargets(driver.job.spec));
          if (all || now >= driver.restUntil) await driver.tick();
        } catch (err) {
          if (!driver.finished) this.options.logger.error({ err, job: driver.id }, 'a round of a job failed; it is tried again at the next');
        }
        if (driver.finished) {
          driver.stop();
          this.drivers.delete(driver.id);
        }
      }
    })().finally(() => {
      this.ticking = null;
    });
    await this.ticking;
  }

  /** A round now; if it fails (the store, say), the job is stored and the next tick tries again. */
  private async firstRound(driver: JobDriver): Promise<void> {
    try {
      await driver.tick();
    } catch (err) {
      this.options.logger.error({ err, job: driver.id }, 'a round of a job failed; it is tried again at the next');
    }
  }

  private drive(job: JobRecord): JobDriver {
    const driver = new JobDriver(job, this.driverDeps());
    this.drivers.set(job.id, driver);
    return driver;
  }

  private driverDeps() {
    const { clock, node, logger, inspect, leaseMs, onTransition } = this.options;
    return {
      ...(onTransition ? { onTransition } : {}),
      leaseMs,
      ...(inspect ? { inspect: guardInspect(inspect) } : {}),
      store: this.store,
      submit: (async (specs, who, options) => {
        await this.options.submit(specs, who, options);
        this.commandsMade += specs.length;
      }) satisfies SubmitJobCommands,
      cancel: (documentId: string, who: string) => this.options.cancel(documentId, who),
      clock,
      node,
      logger,
    };
  }
}
