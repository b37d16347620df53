import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` used here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** Where it is defined, relative to the package or node_modules. */
  where: string;
  selfMs: number;
  share: number;
}

/** Shortens a script URL to what identifies it: `node_modules/<pkg>/…`, `src/…`, `node:…`. */
function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/**
 * Top functions by self time. `(idle)` is left out of the shares: they are shares of the time
 * courier's thread was busy (`(garbage collector)` and `(program)`, V8's own work, included).
 */
export function topSelfTime(file: string, limit = 15): { busyMs: number; idleMs: number; top: HotFunction[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += delta;
      return;
    }
    busyUs += delta;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const entry = selfUs.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
  });
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({ name: e.name, where: e.where, selfMs: Math.round(e.us / 1000), share: e.us / busyUs }));
  return { busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), top };
}

/** Native functions that are the kernel's work of sending on a socket. */
const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String']);

/** Where a script URL belongs, for the summary by area. */
function areaOf(url: string): string {
  if (url.includes('courier-probe') || url.startsWith('node:inspector')) return 'profiler (measurement)';
  if (url.includes('better-sqlite3') || url.includes('/store/sqlite/')) return 'SQLite (better-sqlite3 and the store)';
  if (url.includes('node_modules/xstate')) return 'XState';
  if (url.includes('node_modules/ws/')) return 'ws (WebSocket framing)';
  if (/node_modules\/(fastify|@fastify|find-my-way|avvio|secure-json-parse|fast-json-stringify|ajv|pino)/.test(url) || url.startsWith('node:_http')) {
    return 'HTTP (fastify, node:http)';
  }
  if (url.includes('node_modules/')) return url.slice(url.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/')[0]!;
  if (url.startsWith('node:')) return 'node internals (streams, timers, promises)';
  return 'courier (runtime, handlers)';
}

/**
 * Self time by area: garbage collection, socket writes, and else the package of the nearest
 * JavaScript frame (a native function such as better-sqlite3's `run` counts for its caller).
 */
export function selfTimeByArea(file: string): { area: string; share: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile & { nodes: { id: number; children?: number[] }[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const areas = new Map<string, number>();
  let busy = 0;
  const area = (id: number): string => {
    const own = byId.get(id)!.callFrame;
    if (own.functionName === '(garbage collector)') return 'garbage collection';
    if (own.functionName === '(program)') return 'V8 (program)';
    if (SOCKET_WRITES.has(own.functionName) && own.url === '') return 'socket writes (system calls)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const url = byId.get(at)!.callFrame.url;
      if (url) return areaOf(url);
    }
    return `native: ${own.functionName}`;
  };
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    const delta = profile.timeDeltas[i] ?? 0;
    busy += delta;
    const key = area(id);
    areas.set(key, (areas.get(key) ?? 0) + delta);
  });
  return [...areas.entries()].map(([name, us]) => ({ area: name, share: us / busy })).sort((a, b) => b.share - a.share);
}

/** The parts of a V8 sampling heap profile (`.heapprofile`) used here. */
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * Top allocation sites by bytes sampled (collected since or not), and the total: where a phase's
 * garbage comes from.
 */
export function topAllocations(file: string, limit = 12): { totalMb: number; top: { name: string; where: string; mb: number; share: number }[] } {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const sites = new Map<string, { name: string; where: string; bytes: number }>();
  let total = 0;
  const visit = (node: HeapNode) => {
    if (node.selfSize > 0) {
      const frame = node.callFrame;
      const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const key = `${frame.functionName}@${where}`;
      const site = sites.get(key) ?? { name: frame.functionName || '(anonymous)', where, bytes: 0 };
      site.bytes += node.selfSize;
      sites.set(key, site);
      total += node.selfSize;
    }
    for (const child of node.children) visit(child);
  };
  visit(head);
  const top = [...sites.values()]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, limit)
    .map((s) => ({ name: s.name, where: s.where, mb: s.bytes / 1024 / 1024, share: s.bytes / total }));
  return { totalMb: total / 1024 / 1024, top };
}
