import type { Client } from '@opensearch-project/opensearch';
import { FINAL_JOB_STATUSES, JOB_STATUSES, type JobCommand, type JobRecord, type JobStatus, type JobTransitionRecord } from '../../domain/job.js';
import { errors } from '../../errors.js';
import { nextJobCursor, readJobCursor, type JobStore } from '../job-store.js';
import type { Page, PageOf } from '../operator-store.js';
import { statusOf, type AuditSource, type CommandSource } from './command-source.js';
import { isStatus, toCourierError, toWriteError } from './failures.js';
import type { IndexNames } from './indices.js';
import { searchAll, searchComplete, type Hit } from './search.js';
import { formatVersion, parseVersion } from './version-book.js';
import { readDate } from './dates.js';
import { storedJobStatus } from '../stored-status.js';

/** A job's document in `courier-jobs`. */
export interface JobSource {
  id: string;
  name: string;
  status: string;
  created_at: number;
  updated_at: number;
  owner: string;
  /** Which node drives it, until when (ms). */
  lease: { node: string; until: number } | null;
  /** The rest of the job, kept as written (not indexed). */
  record: Pick<JobRecord, 'spec' | 'targets' | 'snapshot' | 'abortReason'>;
}

function toSource(job: JobRecord): JobSource {
  return {
    id: job.id,
    name: job.spec.name,
    status: job.status,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    owner: job.owner,
    lease: job.lease ?? null,
    record: { spec: job.spec, targets: job.targets, snapshot: job.snapshot, abortReason: job.abortReason },
  };
}

function toJob(hit: Pick<Hit<JobSource>, '_id' | '_source' | '_seq_no' | '_primary_term'>): JobRecord {
  const s = hit._source;
  return {
    id: s.id,
    status: storedJobStatus(s.status, `job ${hit._id}`),
    createdAt: s.created_at,
    updatedAt: s.updated_at,
    owner: s.owner,
    lease: s.lease ?? null,
    ...s.record,
    version: formatVersion({ seqNo: hit._seq_no, primaryTerm: hit._primary_term }),
  };
}

function auditOf(record: JobTransitionRecord): AuditSource {
  return {
    kind: 'job',
    document_id: null,
    job_id: record.job_id,
    from: record.from,
    to: record.to,
    cause: record.cause,
    at: record.at,
    node: record.node,
    actor: record.actor,
    ...(record.detail !== undefined ? { detail: record.detail } : {}),
  };
}

const UNFINISHED = JOB_STATUSES.filter((s) => !FINAL_JOB_STATUSES.has(s));

/**
 * Jobs in `courier-jobs`, one document each, written on the version last read (`if_seq_no` +
 * `if_primary_term`): of two nodes writing the same job, one is refused. That is what keeps a job
 * driven by one node at a time: the lease in the document is taken and renewed by such writes.
 * Transitions go to the audit index as records of kind `job`.
 */
export class OpenSearchJobs implements JobStore {
  constructor(
    private readonly client: Client,
    private readonly names: IndexNames,
  ) {}

  async add(job: JobRecord, audit: JobTransitionRecord): Promise<string | undefined> {
    try {
      const res = await this.client.index({ index: this.names.jobs, id: job.id, op_type: 'create', body: toSource(job) });
      await this.client.index({ index: this.names.audit, body: auditOf(audit) });
      return formatVersion({ seqNo: res.body._seq_no, primaryTerm: res.body._primary_term });
    } catch (error) {
      throw toWriteError(error);
    }
  }

  async get(id: string): Promise<JobRecord | null> {
    try {
      const res = await this.client.get({ index: this.names.jobs, id });
      const body = res.body as unknown as Hit<JobSource> & { found: boolean };
      return body.found ? toJob(body) : null;
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw toCourierError(error);
    }
  }

  async list(filter: { status?: JobStatus[] | undefined }, page: Page): Promise<PageOf<JobRecord>> {
    const cursor = page.cursor ? readJobCursor(page.cursor) : null;
    const after = cursor ? [cursor.at, cursor.id] : undefined;
    try {
      await this.client.indices.refresh({ index: this.names.jobs });
      const res = await searchComplete<JobSource>(this.client, this.names.jobs, {
        query: filter.status?.length ? { terms: { status: filter.status } } : { match_all: {} },
        sort: [{ created_at: 'desc' }, { id: 'desc' }],
        size: page.limit,
        ...(after ? { search_after: after } : {}),
      });
      const items = res.hits.hits.map(toJob);
      return { items, next: nextJobCursor(items, page.limit) };
    } catch (error) {
      throw toCourierError(error);
    }
  }

  /** Writes the job on the version it was read at; a job another node wrote since is refused (`COURIER_ERR_JOB_LEASE_LOST`). */
  async save(job: JobRecord, audit: JobTransitionRecord | null): Promise<string | undefined> {
    const version = job.version === undefined ? null : parseVersion(job.version);
    let written: string;
    try {
      const res = await this.client.index({
        index: this.names.jobs,
        id: job.id,
        body: toSource(job),
        ...(version ? { if_seq_no: version.seqNo, if_primary_term: version.primaryTerm } : {}),
      });
      written = formatVersion({ seqNo: res.body._seq_no, primaryTerm: res.body._primary_term });
    } catch (error) {
      if (isStatus(error, 409)) throw errors.JOB_LEASE_LOST(job.id);
      throw toWriteError(error);
    }
    if (audit) {
      try {
        await this.client.index({ index: this.names.audit, body: auditOf(audit) });
      } catch (error) {
        throw toWriteError(error);
      }
    }
    return written;
  }

  async commands(jobId: string, since?: number): Promise<JobCommand[]> {
    const commands: JobCommand[] = [];
    try {
      await this.client.indices.refresh({ index: this.names.commands });
      const filter: object[] = [{ term: { 'command.request_id': jobId } }, { term: { 'courier.job.id': jobId } }];
      if (since !== undefined) filter.push({ range: { 'courier.updated_at': { gte: since } } });
      const query = { bool: { filter } };
      for await (const hits of searchAll<CommandSource>(this.client, this.names.commands, query, 5000)) {
        for (const hit of hits) {
          const s = hit._source;
          const status = statusOf(s);
          const job = s.courier?.job;
          if (!status || !job || typeof s.courier?.route !== 'string') continue;
          commands.push({ document_id: hit._id, route: s.courier.route, step: job.step ?? 0, attempt: job.attempt ?? 1, status, updatedAt: updatedAt(s) });
        }
      }
    } catch (error) {
      throw toCourierError(error);
    }
    return commands;
  }

  async unfinished(): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    try {
      await this.client.indices.refresh({ index: this.names.jobs });
      for await (const hits of searchAll<JobSource>(this.client, this.names.jobs, { terms: { status: UNFINISHED } }, 1000, [{ created_at: 'asc' }, { id: 'asc' }])) {
        jobs.push(...hits.map(toJob));
      }
    } catch (error) {
      throw toCourierError(error);
    }
    return jobs;
  }
}

/** When a command last changed (ms), 0 when its document does not say. */
function updatedAt(source: CommandSource): number {
  const read = readDate(source.courier?.updated_at);
  return read.kind === 'time' ? read.ms : 0;
}
