import type Database from 'better-sqlite3';
import { FINAL_JOB_STATUSES, JOB_STATUSES, type JobCommand, type JobRecord, type JobStatus, type JobTransitionRecord } from '../../domain/job.js';
import { nextJobCursor, readJobCursor, type JobStore } from '../job-store.js';
import type { Page, PageOf } from '../operator-store.js';
import { storedJobStatus, storedStatus } from '../stored-status.js';

interface JobRow {
  id: string;
  status: string;
  created_at: number;
  updated_at: number;
  owner: string;
  record: string;
}

/** What the row's `record` column holds: the rest of the job, as JSON. */
type StoredRest = Pick<JobRecord, 'spec' | 'targets' | 'snapshot' | 'abortReason'>;

function rowToJob(row: JobRow): JobRecord {
  const status = storedJobStatus(row.status, `job ${row.id}`);
  const rest = JSON.parse(row.record) as StoredRest;
  // One node alone drives the jobs of its store: no lease.
  return { id: row.id, status, createdAt: row.created_at, updatedAt: row.updated_at, owner: row.owner, lease: null, ...rest };
}

function rest(job: JobRecord): string {
  const stored: StoredRest = { spec: job.spec, targets: job.targets, snapshot: job.snapshot, abortReason: job.abortReason };
  return JSON.stringify(stored);
}

const UNFINISHED = JOB_STATUSES.filter((s) => !FINAL_JOB_STATUSES.has(s));

/** Jobs in the embedded store: one row each, and their transitions in the audit table (kind `job`). */
export class SqliteJobs implements JobStore {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insert: db.prepare(`INSERT INTO jobs (id, name, status, created_at, updated_at, owner, record) VALUES (@id, @name, @status, @createdAt, @updatedAt, @owner, @record)`),
      update: db.prepare(`UPDATE jobs SET status = @status, updated_at = @updatedAt, record = @record WHERE id = @id`),
      get: db.prepare(`SELECT * FROM jobs WHERE id = ?`),
      audit: db.prepare(
        `INSERT INTO audit (kind, document_id, from_status, to_status, cause, at, node, actor, detail)
           VALUES ('job', @job_id, @from, @to, @cause, @at, @node, @actor, @detail)`,
      ),
      // A job's commands are those of its request (its id) that have a step.
      // As arrays: no object per row (10,000 rows as objects took ~3 times as long).
      commands: db
        .prepare(
          `SELECT document_id, route, status, updated_at, job_step, job_attempt
             FROM commands WHERE request_id = ? AND job_step IS NOT NULL AND updated_at >= ?`,
        )
        .raw(true),
      unfinished: db.prepare(`SELECT * FROM jobs WHERE status IN (${UNFINISHED.map((s) => `'${s}'`).join(', ')}) ORDER BY created_at, id`),
    };
  }

  async add(job: JobRecord, audit: JobTransitionRecord): Promise<undefined> {
    this.db.transaction(() => {
      this.stmt.insert.run({ id: job.id, name: job.spec.name, status: job.status, createdAt: job.createdAt, updatedAt: job.updatedAt, owner: job.owner, record: rest(job) });
      this.stmt.audit.run(auditRow(audit));
    })();
    return undefined;
  }

  async get(id: string): Promise<JobRecord | null> {
    const row = this.stmt.get.get(id) as JobRow | undefined;
    return row ? rowToJob(row) : null;
  }

  async list(filter: { status?: JobStatus[] | undefined }, page: Page): Promise<PageOf<JobRecord>> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.status?.length) where.push(`status IN (${filter.status.map((s, i) => ((params[`s${i}`] = s), `@s${i}`)).join(', ')})`);
    const cursor = page.cursor ? readJobCursor(page.cursor) : null;
    if (cursor) {
      where.push(`(created_at < @at OR (created_at = @at AND id < @id))`);
      Object.assign(params, cursor);
    }
    const rows = this.db
      .prepare(`SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${page.limit}`)
      .all(params) as JobRow[];
    const items = rows.map(rowToJob);
    return { items, next: nextJobCursor(items, page.limit) };
  }

  async save(job: JobRecord, audit: JobTransitionRecord | null): Promise<undefined> {
    this.db.transaction(() => {
      this.stmt.update.run({ id: job.id, status: job.status, updatedAt: job.updatedAt, record: rest(job) });
      if (audit) this.stmt.audit.run(auditRow(audit));
    })();
    return undefined;
  }

  async commands(jobId: string, since?: number): Promise<JobCommand[]> {
    const rows = this.stmt.commands.all(jobId, since ?? 0) as [string, string, string, number, number, number][];
    return rows.map(([document_id, route, status, updatedAt, step, attempt]) => ({
      document_id,
      route,
      step,
      attempt,
      status: storedStatus(status, `command ${document_id}`),
      updatedAt,
    }));
  }

  async unfinished(): Promise<JobRecord[]> {
    return (this.stmt.unfinished.all() as JobRow[]).map(rowToJob);
  }
}

function auditRow(audit: JobTransitionRecord) {
  return { ...audit, detail: audit.detail ?? null };
}
