import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface Machine {
  cores: number;
  cpu: string;
  memory_gb: number;
  node: string;
  os: string;
  /**
   * The 1-minute load average when the run started and ended: other work on the machine makes
   * every figure worse, so a run is only comparable with runs on an equally quiet machine.
   */
  load_1m_at_start: number;
  load_1m_at_end?: number;
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    cores: list.length,
    cpu: list[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
    load_1m_at_start: currentLoad(),
  };
}

export function currentLoad(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
