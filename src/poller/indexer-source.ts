import type { CommandState } from '../domain/command.js';

/** Where the tail of the commands index stands: the last `_seq_no` read, in which index. */
export interface TailCursor {
  /** A recreated index starts its `_seq_no` over: the cursor then starts over too. */
  indexUuid: string;
  seqNo: number;
}

export interface TailPage {
  /** Commands this node does not know in this version yet, oldest change first. */
  states: CommandState[];
  /** Hits in the page (before dropping known versions): fewer than asked means the last page. */
  hits: number;
  lastSeqNo: number | null;
}

/** What the indexer poller reads (the OpenSearch store implements it). */
export interface IndexerSource {
  /**
   * The commands index's identity and its global checkpoint: every operation up to it is done,
   * so after a refresh every document changed at or below it is visible to search.
   */
  checkpoint(): Promise<{ indexUuid: string; checkpoint: number }>;
  refreshCommands(): Promise<void>;
  /**
   * Documents whose current `_seq_no` is in (after, upTo], oldest first; fails on a partial read.
   * With `routes`, only those of these routes and those written by others than courier (whose
   * route is derived on reading): what a node of a cluster holds (see `RouteAffinity`).
   */
  tailPage(after: number, upTo: number, size: number, routes?: readonly string[]): Promise<TailPage>;
  /**
   * Pending commands, lapsed claims and overdue commands, a page at a time. With `routes`, the
   * pending commands only of these routes, those past their delivery deadline and those written by
   * others than courier: what a node of a cluster holds (see `RouteAffinity`); every node still reads
   * every lapsed claim and overdue command (some node must act on them).
   */
  rescan(size: number, routes?: readonly string[]): AsyncIterable<CommandState[]>;
  readCursor(node: string): Promise<TailCursor | null>;
  writeCursor(node: string, cursor: TailCursor): Promise<void>;
  /** A short account of an error from the source, for logs and health. */
  describeError(error: unknown): string;
}

/** Whether a store can feed the indexer poller (the OpenSearch store can; the embedded one has no other writers). */
export function isIndexerSource(store: object): store is IndexerSource {
  const candidate = store as Partial<IndexerSource>;
  return typeof candidate.tailPage === 'function' && typeof candidate.checkpoint === 'function';
}
