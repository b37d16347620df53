import type { AuditCommandFields } from './audit-command-fields.js';

/**
 * The version (`_primary_term`, `_seq_no`) of a command document that this node last wrote, or
 * last read and took as the basis of its next change. Every status change is written on the
 * condition that the document is still at that version (`if_seq_no` + `if_primary_term`).
 */
export interface DocVersion {
  primaryTerm: number;
  seqNo: number;
}

export function formatVersion(v: DocVersion): string {
  return `${v.primaryTerm}:${v.seqNo}`;
}

export function parseVersion(text: string | undefined): DocVersion | null {
  const match = text ? /^(\d+):(\d+)$/.exec(text) : null;
  return match ? { primaryTerm: Number(match[1]), seqNo: Number(match[2]) } : null;
}

/** Positive when `a` is newer than `b`. A new primary term outranks any `_seq_no` of an older one. */
export function compareVersions(a: DocVersion, b: DocVersion): number {
  return a.primaryTerm - b.primaryTerm || a.seqNo - b.seqNo;
}

/** What the adapter keeps per command besides the version: courier's own fields, derived once, and what its audit records carry. */
export interface BookEntry extends DocVersion {
  route: string;
  seq: number;
  command: AuditCommandFields;
}

export class VersionBook {
  private readonly entries = new Map<string, BookEntry>();

  get size(): number {
    return this.entries.size;
  }

  get(id: string): BookEntry | undefined {
    return this.entries.get(id);
  }

  set(id: string, entry: BookEntry): void {
    this.entries.set(id, entry);
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  /** True when this node knows nothing of the document, or an older version than `version`. */
  isNewer(id: string, version: DocVersion): boolean {
    const known = this.entries.get(id);
    return !known || compareVersions(version, known) > 0;
  }
}
