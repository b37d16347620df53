import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run bench -- [options]

Starts courier as its own process on a fresh data directory, drives simulated agents from a
separate load process on loopback, and reports dispatch latency, throughput, memory per agent,
fan-out, live-command load, the ratio to a raw ws server measured in the same run, and the
authentications per second of agents with Wazuh (PBKDF2) keys.

Options:
  --quick                 a ~1-minute smoke run (1,000 agents, 20,000 live commands, short phases)
  --json <file>           also write {"machine","date","results"} to <file>
  --agents <n>            agents per transport (default 10000; --quick 1000)
  --live-commands <n>     pending commands for the restart scenario (default 100000; --quick 20000)
  --samples <n>           dispatch-latency samples per transport (default 2000; --quick 300)
  --duration <s>          seconds measured in the throughput phases (default 20; --quick 4)
  --opensearch <url>      also measure indexer dispatch (document indexed -> agent receipt)
  --indexer-commands <n>  commands for the indexer scenario (default 1000; --quick 200)
  --nodes <list>          courier nodes per run of the scale-out scenario (needs --opensearch;
                          default 1,2,3): CPU of OpenSearch and of courier per command at a fixed
                          rate, throughput, and dispatch across nodes, for each count
  --scale-out-rate <n>    commands per second of the scale-out scenario's fixed-rate phase (default 200)
  --cpu-prof <dir>        write courier's CPU profile and sampling heap profile of each measured
                          phase to <dir>, and print its top functions by self time and its top
                          allocation sites
  --only <list>           run only these scenarios (comma-separated): websocket, workers, tls-websocket,
                          long-poll, live-commands, indexer, scale-out, auth (the raw floor and the jobs run
                          with websocket; workers is websocket's throughput on a courier with --workers 2)
  -h, --help              this help`;

export type Scenario = 'websocket' | 'workers' | 'tls-websocket' | 'long-poll' | 'live-commands' | 'indexer' | 'scale-out' | 'auth';
const SCENARIOS: Scenario[] = ['websocket', 'workers', 'tls-websocket', 'long-poll', 'live-commands', 'indexer', 'scale-out', 'auth'];

export interface Plan {
  quick: boolean;
  json: string | null;
  agents: number;
  liveCommands: number;
  dispatchSamples: number;
  /** Dispatch-latency commands per second (open loop, one command per POST). */
  dispatchRate: number;
  fanoutRuns: number;
  throughputMs: number;
  warmupMs: number;
  /** Most commands created and not yet completed during the throughput phases. */
  window: number;
  /** Commands per POST in the throughput phase. */
  batch: number;
  /** Agents started per second, and at most this many authenticating/connecting at once. */
  connectRate: number;
  connectConcurrency: number;
  opensearch: string | null;
  indexerCommands: number;
  /** Courier nodes of each run of the scale-out scenario. */
  nodeCounts: number[];
  /** Agents of the scale-out scenario (spread over the nodes) and its fixed rate (commands/s). */
  scaleOutAgents: number;
  scaleOutRate: number;
  cpuProfDir: string | null;
  scenarios: Set<Scenario>;
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return n;
}

/** The plan of a run, from the command line; null when help was asked. */
export function parsePlan(argv: string[]): Plan | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      agents: { type: 'string' },
      'live-commands': { type: 'string' },
      samples: { type: 'string' },
      duration: { type: 'string' },
      opensearch: { type: 'string' },
      'indexer-commands': { type: 'string' },
      nodes: { type: 'string' },
      'scale-out-rate': { type: 'string' },
      'cpu-prof': { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const quick = values.quick;
  const agents = positiveInt('agents', values.agents, quick ? 1000 : 10_000);
  const scenarios = new Set<Scenario>(
    values.only === undefined
      ? SCENARIOS
      : values.only.split(',').map((s) => {
          if (!SCENARIOS.includes(s as Scenario)) throw new Error(`--only: unknown scenario "${s}" (one of ${SCENARIOS.join(', ')})`);
          return s as Scenario;
        }),
  );
  // At most about one outstanding command per agent: frames then carry one command each, as the raw floor's do.
  const window = Math.max(1, Math.min(5000, agents));
  return {
    quick,
    json: values.json ?? null,
    agents,
    liveCommands: positiveInt('live-commands', values['live-commands'], quick ? 20_000 : 100_000),
    dispatchSamples: positiveInt('samples', values.samples, quick ? 300 : 2000),
    dispatchRate: 200,
    fanoutRuns: 3,
    throughputMs: positiveInt('duration', values.duration, quick ? 4 : 20) * 1000,
    warmupMs: quick ? 1000 : 3000,
    window,
    batch: Math.max(1, Math.min(500, Math.floor(window / 5))),
    connectRate: 1000,
    connectConcurrency: 64,
    opensearch: values.opensearch ?? null,
    indexerCommands: positiveInt('indexer-commands', values['indexer-commands'], quick ? 200 : 1000),
    nodeCounts: (values.nodes ?? '1,2,3').split(',').map((n) => positiveInt('nodes', n, 1)),
    scaleOutAgents: Math.min(agents, 1000),
    scaleOutRate: positiveInt('scale-out-rate', values['scale-out-rate'], 200),
    cpuProfDir: values['cpu-prof'] ?? null,
    scenarios,
  };
}
