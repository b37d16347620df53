// CPU time of a process and of its child processes, read from /proc (Linux): what a process's own
// `process_cpu_seconds_total` cannot tell, since it counts that process alone.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on practically every Linux). */
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU seconds used so far (user + system) by a process and by each of its children at one moment. */
export interface ProcessTreeCpu {
  process: number;
  /** Child pid -> its CPU seconds. */
  children: Map<number, number>;
}

/** Whether this system has /proc to read CPU times from. */
export const canReadProcessCpu = (pid: number) => existsSync(`/proc/${pid}/stat`);

/**
 * The fields of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat: `pid` given as `<pid>/task/<tid>`)
 * after the command name, or null once the process (thread) is gone. The
 * name is in parentheses and may itself hold spaces and parentheses, so fields start after the last ')'.
 */
function statFields(pid: number | string): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}

/** utime + stime (fields 14 and 15 of the stat line; 12th and 13th after the name) in seconds, every thread included. */
function cpuSecondsOf(fields: string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The CPU seconds of `pid` and of its direct children (found by their parent pid, field 4). */
export function processTreeCpu(pid: number): ProcessTreeCpu {
  const own = statFields(pid);
  if (own === null) throw new Error(`process ${pid} is not running`);
  const children = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== null && Number(fields[1]) === pid) children.set(Number(entry), cpuSecondsOf(fields));
  }
  return { process: cpuSecondsOf(own), children };
}

/**
 * CPU seconds used between two readings: by the process, and by each of its children (pid ->
 * seconds). A child started in between counts from zero; one that exited in between is lost (its
 * last time is not readable any more) and is listed in `exited`.
 */
export function cpuBetween(before: ProcessTreeCpu, after: ProcessTreeCpu): { process: number; children: Map<number, number>; exited: number[] } {
  const children = new Map<number, number>();
  for (const [pid, seconds] of after.children) children.set(pid, seconds - (before.children.get(pid) ?? 0));
  const exited = [...before.children.keys()].filter((pid) => !after.children.has(pid));
  return { process: after.process - before.process, children, exited };
}

/** CPU seconds used so far by each thread of `pid` (thread id -> seconds); the main thread's id is `pid`. */
export function threadCpu(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    const fields = statFields(`${pid}/task/${entry}`);
    if (fields !== null) threads.set(Number(entry), cpuSecondsOf(fields));
  }
  return threads;
}

/**
 * Between two readings of `threadCpu(pid)`: the main thread's CPU seconds, the busiest other
 * thread's (in courier's process, the store's writer thread: the others are V8's and libuv's
 * helpers), and all the others' together.
 */
export function threadCpuBetween(pid: number, before: Map<number, number>, after: Map<number, number>): { main: number; busiest: number; others: number } {
  const used = [...after].map(([tid, seconds]) => ({ tid, seconds: seconds - (before.get(tid) ?? 0) }));
  const main = used.find((t) => t.tid === pid)?.seconds ?? 0;
  const rest = used.filter((t) => t.tid !== pid).sort((a, b) => b.seconds - a.seconds);
  const busiest = rest[0]?.seconds ?? 0;
  return { main, busiest, others: rest.slice(1).reduce((sum, t) => sum + t.seconds, 0) };
}
