import type { JobCommand, JobRecord, JobStatus, JobTransitionRecord } from '../domain/job.js';
import { errors } from '../errors.js';
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

/**
 * Where a page of jobs (newest first) ends, as both stores write it: `<created_at>.<id>` of its last
 * job, or null when the page was not full.
 */
export function nextJobCursor(page: JobRecord[], limit: number): string | null {
  const last = page.at(-1);
  return page.length === limit && last ? `${last.createdAt}.${last.id}` : null;
}

/** A cursor `nextJobCursor` wrote; anything else was not issued by this server. */
export function readJobCursor(cursor: string): { at: number; id: string } {
  const match = /^(\d{1,15})\.(.+)$/.exec(cursor);
  if (!match) throw errors.VALIDATION('Invalid [querystring.cursor]: not a cursor this server issued');
  return { at: Number(match[1]), id: match[2]! };
}
