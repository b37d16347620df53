import type { JobCommand, JobRecord, JobStatus, JobTransitionRecord } from '../domain/job.js';
import type { Page, PageOf } from './operator-store.js';

/** What the jobs need from a store: the jobs themselves, their audit records, and their commands read back. */
export interface JobStore {
  /** Stores a new job with its first audit record; resolves to its version (a store shared by several nodes). */
  add(job: JobRecord, audit: JobTransitionRecord): Promise<string | undefined>;
  get(id: string): Promise<JobRecord | null>;
  /** Newest first. */
  list(filter: { status?: JobStatus[] | undefined }, page: Page): Promise<PageOf<JobRecord>>;
  /**
   * Writes the job's new state and, when it changed status, its audit record; resolves to the new
   * version. A store shared by several nodes writes it on `job.version` only, and refuses it
   * (`COURIER_ERR_JOB_LEASE_LOST`) when another node wrote the job since.
   */
  save(job: JobRecord, audit: JobTransitionRecord | null): Promise<string | undefined>;
  /** The commands the job made, as stored now: every one, or (`since`, ms) those changed since then. */
  commands(jobId: string, since?: number): Promise<JobCommand[]>;
  /** The jobs not in a final status: the ones to drive after a start. */
  unfinished(): Promise<JobRecord[]>;
}
