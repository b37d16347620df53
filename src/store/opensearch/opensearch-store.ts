import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import type { CommandState, CommandStatus } from '../../domain/command.js';
import { FINAL_STATUSES, UNFINISHED_STATUSES } from '../../domain/command.js';
import type { IndexerSource, TailCursor, TailPage } from '../../poller/indexer-source.js';
import type { OperatorStore } from '../operator-store.js';
import type { AuditEvent, CommandStore, WriteBatch, WriteOutcome } from '../store.js';
import type { AgentRecord, MembershipChange, TransitionRecord } from '../records.js';
import { writeMembership } from './membership.js';
import type { EnrollmentTokenStore } from '../enrollment-token-store.js';
import type { ClusterDirectory } from '../cluster-directory.js';
import { OpenSearchClusterDirectory } from './cluster-directory.js';
import { AgentDirectory } from './agent-directory.js';
import { readHistory } from './audit-history.js';
import { OpenSearchEnrollmentTokens } from './enrollment-tokens.js';
import { OpenSearchJobs } from './jobs.js';
import type { JobStore } from '../job-store.js';
import { BulkWriter } from './bulk-writer.js';
import { indexCheckpoint, type IndexCheckpoint } from './checkpoint.js';
import { auditSource, entryOf, isForeign, readSource, type CommandSource } from './command-source.js';
import { countsOf, STATUS_COUNTS_AGGS, statusIn } from './status-query.js';
import { auditCommandFields } from './audit-command-fields.js';
import { describe, isStatus, toCourierError, toWriteError } from './failures.js';
import { ensureIndices, type IndexNames } from './indices.js';
import { rescanQuery, routesQuery, servedBy } from './command-queries.js';
import { readTailCursor, writeTailCursor } from './tail-cursor.js';
import { OpenSearchOperatorQueries } from './operator-queries.js';
import { getFound, searchAll, searchComplete, type Hit } from './search.js';
import { parseVersion, VersionBook, type DocVersion } from './version-book.js';

export interface OpenSearchStoreOptions {
  client: Client;
  names: IndexNames;
  /** This node's name (the poller keeps a cursor per node). */
  node: string;
  logger: Logger;
  /** Documents per search page (loads, re-scans, the tail). */
  pageSize: number;
  now?: () => number;
}

/** Past this many, the memory of skipped documents starts over (they are logged again, once). */
const MAX_SKIPPED_REMEMBERED = 10_000;

/**
 * The OpenSearch store. Commands live in `wazuh-commands` in the Wazuh schema, plus courier's
 * fields under `courier.*`; every transition is an audit document in `courier-audit`.
 *
 * Several courier nodes (and the Wazuh plugin, and operators) write the same documents, so every
 * status change is conditional on the version this node last wrote, or last read and adopted
 * (`if_seq_no` + `if_primary_term`, kept in a `VersionBook`): a 409 comes back as `conflict` and
 * the runtime re-reads instead of overwriting. Creates are `op_type: create`: an existing id is
 * adopted, never overwritten.
 *
 * It is also the poller's source: the `_seq_no` tail and the periodic re-scan of the index.
 */
export class OpenSearchStore implements CommandStore, IndexerSource {
  readonly kind = 'opensearch' as const;
  readonly operators: OperatorStore;
  readonly enrollmentTokens: EnrollmentTokenStore;
  readonly jobs: JobStore;
  readonly cluster: ClusterDirectory;
  private readonly client: Client;
  private readonly names: IndexNames;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly book = new VersionBook();
  private readonly agents: AgentDirectory;
  private readonly writer: BulkWriter;
  /** Set at open: structured result data is stored as JSON text (an index made by Wazuh's template). */
  private resultDataAsText = false;
  /** Audit writes made outside a commit (discovered documents); `history` waits for them. */
  private readonly sideWrites = new Set<Promise<void>>();
  /** Documents skipped as unreadable, with the `_seq_no` skipped: each version is logged once, not at every re-scan. */
  private readonly skipped = new Map<string, number>();

  constructor(private readonly options: OpenSearchStoreOptions) {
    this.client = options.client;
    this.names = options.names;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.agents = new AgentDirectory(this.client, this.names.agents, options.pageSize);
    this.writer = new BulkWriter({
      client: this.client,
      names: this.names,
      book: this.book,
      logger: this.logger,
      resultDataAsText: () => this.resultDataAsText,
      agents: this.agents,
    });
    this.operators = new OpenSearchOperatorQueries(this.client, this.names, (id) => this.getCommand(id), this.now);
    this.enrollmentTokens = new OpenSearchEnrollmentTokens(this.client, this.names.enrollmentTokens, this.agents, this.logger);
    this.jobs = new OpenSearchJobs(this.client, this.names);
    this.cluster = new OpenSearchClusterDirectory(this.client, this.names);
  }

  async open(): Promise<void> {
    const setup = await ensureIndices(this.client, this.names);
    this.resultDataAsText = setup.resultDataAsText;
    this.logger.info({ indices: this.names, ...setup }, 'opensearch store ready');
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.sideWrites]);
    await this.client.close();
  }

  adopted(state: CommandState): void {
    const version = parseVersion(state.version);
    if (!version) return; // built by the runtime itself (a create): the create recorded its version
    if (FINAL_STATUSES.has(state.status)) this.book.forget(state.doc.document_id);
    else this.book.set(state.doc.document_id, entryOf(state.doc, version));
  }

  released(documentId: string): void {
    this.book.forget(documentId);
  }

  // ---- writes ---------------------------------------------------------------------------

  commit(batch: WriteBatch): Promise<WriteOutcome> {
    return this.writer.commit(batch);
  }

  /**
   * A pending command that someone else wrote into the index gets a first audit record, `indexed`,
   * when a node first reads it (deterministic id: one record however many nodes read it). It is the
   * first of the command's trail, as a creation's record is (`order` -1): a change's record is
   * ordered by the version it was conditioned on, which may be the one read here.
   */
  private noteDiscovered(states: CommandState[], foreign: Set<string>): void {
    const audits = states
      .filter((s) => s.status === 'pending' && s.attempts === 0 && foreign.has(s.doc.document_id))
      .map((s) => {
        const { doc } = s;
        const record: TransitionRecord = {
          document_id: doc.document_id,
          from: null,
          to: 'pending',
          cause: 'indexed',
          at: Date.parse(doc['@timestamp']),
          node: this.options.node,
          actor: doc.command.user ? `user:${doc.command.user}` : `source:${doc.command.source}`,
        };
        return { id: `${doc.document_id}:indexed`, source: auditSource(record, -1, auditCommandFields(doc)) };
      });
    if (audits.length === 0) return;
    const write = this.writer.writeAudit(audits).catch((err: unknown) => this.logger.error({ err }, 'audit of indexed commands failed'));
    this.sideWrites.add(write);
    void write.finally(() => this.sideWrites.delete(write));
  }

  // ---- reads ----------------------------------------------------------------------------

  /** The command a document holds; null, and a warning once per version, when courier cannot run it. */
  private read(id: string, source: CommandSource, version: DocVersion, now: number): CommandState | null {
    const reading = readSource(id, source, version, now);
    if (reading.state) return reading.state;
    if (this.skipped.get(id) !== version.seqNo) {
      if (this.skipped.size >= MAX_SKIPPED_REMEMBERED) this.skipped.clear();
      this.skipped.set(id, version.seqNo);
      this.logger.warn({ document_id: id, reason: reading.rejected }, 'skipping a commands document courier cannot run');
    }
    return null;
  }

  /** States of the hits courier can handle, in hit order; documents read for the first time and foreign are noted. */
  private statesOf(hits: Hit<CommandSource>[], keep: (state: CommandState, version: DocVersion) => boolean = () => true): CommandState[] {
    const now = this.now();
    const states: CommandState[] = [];
    const foreign = new Set<string>();
    for (const hit of hits) {
      const version = { seqNo: hit._seq_no, primaryTerm: hit._primary_term };
      const state = this.read(hit._id, hit._source, version, now);
      if (!state || !keep(state, version)) continue;
      if (isForeign(hit._source)) foreign.add(hit._id);
      // A finished command needs no version any more: nothing will change it again.
      if (FINAL_STATUSES.has(state.status)) this.book.forget(hit._id);
      states.push(state);
    }
    if (foreign.size > 0) this.noteDiscovered(states, foreign);
    return states;
  }

  async getCommand(documentId: string): Promise<CommandState | null> {
    try {
      const res = await this.client.get({ index: this.names.commands, id: documentId });
      const body = res.body as unknown as Hit<CommandSource> & { found: boolean };
      if (!body.found) return null;
      return this.read(documentId, body._source, { seqNo: body._seq_no, primaryTerm: body._primary_term }, this.now());
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw toCourierError(error);
    }
  }

  async getCommands(documentIds: string[]): Promise<CommandState[]> {
    try {
      const now = this.now();
      const hits = await getFound<CommandSource>(this.client, this.names.commands, documentIds, 'command');
      return hits.flatMap((hit) => this.read(hit._id, hit._source, { seqNo: hit._seq_no, primaryTerm: hit._primary_term }, now) ?? []);
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async requestOwner(requestId: string): Promise<{ owner: string | null } | null> {
    try {
      // Commands just created by any node must count: make them searchable first.
      await this.client.indices.refresh({ index: this.names.commands });
      const res = await searchComplete<CommandSource>(this.client, this.names.commands, {
        query: { term: { 'command.request_id': requestId } },
        sort: [{ 'courier.seq': { order: 'asc', unmapped_type: 'long' } }],
        size: 1,
        _source: ['courier.owner'],
      });
      const hit = res.hits.hits[0];
      return hit ? { owner: hit._source.courier?.owner ?? null } : null;
    } catch (error) {
      throw toCourierError(error);
    }
  }

  async history(documentId: string): Promise<AuditEvent[]> {
    await Promise.allSettled([...this.sideWrites]);
    return readHistory(this.client, this.names.audit, documentId);
  }

  async loadUnfinished(): Promise<CommandState[]> {
    const latest = new Map<string, CommandState>();
    await this.client.indices.refresh({ index: this.names.commands });
    const pages = searchAll<CommandSource>(this.client, this.names.commands, statusIn(UNFINISHED_STATUSES), this.options.pageSize);
    for await (const hits of pages) {
      // A document changed while paging shows up again later with a higher _seq_no: the later one wins.
      for (const state of this.statesOf(hits)) latest.set(state.doc.document_id, state);
    }
    return [...latest.values()]
      .filter((s) => !FINAL_STATUSES.has(s.status))
      .sort((a, b) => Date.parse(a.doc['@timestamp']) - Date.parse(b.doc['@timestamp']) || a.doc.seq - b.doc.seq);
  }

  async loadUnfinishedOf(routes: string[]): Promise<CommandState[]> {
    const latest = new Map<string, CommandState>();
    try {
      // No refresh: what a search cannot see yet is past the tail's cursor, and the tail (which
      // refreshes) will hand it over now that its route is served here.
      for (let i = 0; i < routes.length; i += 1000) {
        const chunk = routes.slice(i, i + 1000);
        const wanted = new Set(chunk);
        for await (const hits of searchAll<CommandSource>(this.client, this.names.commands, routesQuery(chunk), this.options.pageSize)) {
          // Documents of others are found by their target; their route is derived on reading.
          for (const state of this.statesOf(hits)) if (wanted.has(state.doc.route)) latest.set(state.doc.document_id, state);
        }
      }
    } catch (error) {
      throw toCourierError(error);
    }
    return [...latest.values()].filter((s) => !FINAL_STATUSES.has(s.status));
  }

  async maxSeq(): Promise<number> {
    await this.client.indices.refresh({ index: this.names.commands });
    const res = await searchComplete(this.client, this.names.commands, { size: 0, aggs: { seq: { max: { field: 'courier.seq' } } } });
    return (res.aggregations?.seq as { value: number | null } | undefined)?.value ?? 0;
  }

  async countByStatus(): Promise<Record<CommandStatus, number>> {
    const res = await searchComplete(this.client, this.names.commands, { size: 0, aggs: STATUS_COUNTS_AGGS });
    return countsOf(res.aggregations).counts;
  }

  // ---- agents ---------------------------------------------------------------------------

  addAgent(agent: AgentRecord): Promise<boolean> {
    return this.agents.add(agent);
  }

  replaceAgent(agent: AgentRecord): Promise<boolean> {
    return this.agents.replace(agent);
  }

  getAgent(id: string): Promise<AgentRecord | null> {
    return this.agents.get(id);
  }

  removeAgent(id: string): Promise<boolean> {
    return this.agents.remove(id);
  }

  setAgentGroups(change: MembershipChange): Promise<AgentRecord | null> {
    return writeMembership(this.agents, (audits) => this.writer.writeAudit(audits), change);
  }

  async probeWrite(node: string, at: number): Promise<void> {
    try {
      await this.client.index({ index: this.names.state, id: `store-probe:${node}`, body: { node, updated_at: at } });
    } catch (error) {
      throw toWriteError(error);
    }
  }

  getAgents(ids: string[]): Promise<Map<string, AgentRecord>> {
    return this.agents.getMany(ids);
  }

  registrationsMark(): Promise<string> {
    return this.agents.mark();
  }

  agentGroups(ids: string[]): Promise<Map<string, string[]>> {
    return this.agents.groupsOf(ids);
  }

  agentsInGroup(group: string, limit?: number): Promise<{ id: string; groups: string[] }[]> {
    return this.agents.inGroup(group, limit);
  }

  // ---- the poller's source --------------------------------------------------------------

  checkpoint(): Promise<IndexCheckpoint> {
    return indexCheckpoint(this.client, this.names.commands);
  }

  async refreshCommands(): Promise<void> {
    await this.client.indices.refresh({ index: this.names.commands });
  }

  async tailPage(after: number, upTo: number, size: number, routes?: readonly string[]): Promise<TailPage> {
    const range = { range: { _seq_no: { gt: after, lte: upTo } } };
    const page = await searchComplete<CommandSource>(this.client, this.names.commands, {
      query: routes ? { bool: { filter: [range, servedBy(routes)] } } : range,
      sort: [{ _seq_no: 'asc' }],
      size,
    });
    const hits = page.hits.hits;
    // Writes of this node (and anything not newer than what it acted on) are not news.
    const states = this.statesOf(hits, (state, version) => this.book.isNewer(state.doc.document_id, version));
    return { states, hits: hits.length, lastSeqNo: hits.at(-1)?._seq_no ?? null };
  }

  async *rescan(size: number, routes?: readonly string[]): AsyncGenerator<CommandState[]> {
    const now = this.now();
    await this.client.indices.refresh({ index: this.names.commands });
    const query = rescanQuery(now, routes);
    for await (const hits of searchAll<CommandSource>(this.client, this.names.commands, query, size)) {
      // What this node already acted on is skipped, except a claim whose lease ran out since.
      yield this.statesOf(hits, (state, version) => this.book.isNewer(state.doc.document_id, version) || (state.status === 'sent' && (state.claim?.until ?? 0) <= now));
    }
  }

  readCursor(node: string): Promise<TailCursor | null> {
    return readTailCursor(this.client, this.names.state, node);
  }

  writeCursor(node: string, cursor: TailCursor): Promise<void> {
    return writeTailCursor(this.client, this.names.state, node, cursor, this.now());
  }

  describeError(error: unknown): string {
    return describe(error);
  }
}
