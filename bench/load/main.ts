// The load process: simulated agents on loopback, driven by the benchmark over IPC.
// It runs apart from courier and from the driver so that neither's CPU time is counted in the other.
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { serveIpc } from '../ipc.js';
import { watchPauses } from '../pauses.js';
import { sleep } from '../clock.js';
import { authenticate, LongPollAgent, WebSocketAgent, type AgentHooks, type Credentials, type ReceivedCommand } from './sim-agents.js';

export interface ConnectArgs {
  transport: 'websocket' | 'long-poll';
  url: string;
  agents: Credentials[];
  /** Most agents started per second (a controlled ramp; the server's accept backlog is finite). */
  rate: number;
  /** Most agents authenticating or connecting at once. */
  concurrency: number;
  /** false: reuse the token got earlier (the raw floor server has no authentication). */
  authenticate: boolean;
  /** The CA to verify an https:// courier with (PEM). */
  ca?: string | undefined;
}

export interface Counters {
  connected: number;
  received: number;
  completed: number;
  errors: number;
  lastError: string | null;
}

const counters: Counters = { connected: 0, received: 0, completed: 0, errors: 0, lastError: null };
const tokens = new Map<string, string>();
const live: (WebSocketAgent | LongPollAgent)[] = [];
/** Tagged commands as they arrived (document_id, wall-clock receipt, receipt − sent_at), and who waits for them. */
interface Arrival {
  id: string;
  at: number;
  latency: number;
}
const samples = new Map<string, Arrival[]>();
const waiters = new Map<string, { count: number; resolve: () => void }>();

const hooks: AgentHooks = {
  onCommand(command: ReceivedCommand, at: number) {
    counters.received++;
    const args = command.action.args;
    if (args?.tag === undefined || args.sent_at === undefined) return;
    let list = samples.get(args.tag);
    if (!list) samples.set(args.tag, (list = []));
    list.push({ id: command.document_id, at, latency: at - args.sent_at });
    const waiter = waiters.get(args.tag);
    if (waiter && list.length >= waiter.count) {
      waiters.delete(args.tag);
      waiter.resolve();
    }
  },
  onCompleted(count: number) {
    counters.completed += count;
  },
  onError(message: string) {
    counters.errors++;
    counters.lastError = message;
  },
};

async function connect(args: ConnectArgs): Promise<{ connected: number; failed: number }> {
  const authAgent = args.ca ? new HttpsAgent({ keepAlive: true, maxSockets: args.concurrency, ca: args.ca }) : new Agent({ keepAlive: true, maxSockets: args.concurrency });
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let failed = 0;
  for (const [i, creds] of args.agents.entries()) {
    while (inFlight.size >= args.concurrency) await Promise.race(inFlight);
    const due = (i * 1000) / args.rate - (performance.now() - started);
    if (due > 2) await sleep(due);
    const attempt = (async () => {
      let token = tokens.get(creds.id);
      if (args.authenticate || !token) {
        token = await authenticate(args.url, creds, authAgent, args.ca);
        tokens.set(creds.id, token);
      }
      if (args.transport === 'websocket') {
        const agent = new WebSocketAgent(creds.id, hooks);
        live.push(agent);
        await agent.open(args.url, token, args.ca);
      } else {
        const agent = new LongPollAgent(creds.id, hooks);
        live.push(agent);
        if (args.ca) throw new Error('the load process speaks TLS on WebSocket agents only');
        agent.start(args.url, token);
      }
      counters.connected++;
    })().catch((error: unknown) => {
      failed++;
      hooks.onError((error as Error).message);
    });
    const tracked: Promise<void> = attempt.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  authAgent.destroy();
  return { connected: counters.connected, failed };
}

async function disconnect(): Promise<void> {
  const agents = live.splice(0);
  await Promise.all(agents.map((a) => a.close()));
  counters.connected = 0;
}

/** Resolves with the arrivals of the commands tagged `tag` once `count` of them have arrived. */
async function arrivals({ tag, count, timeoutMs }: { tag: string; count: number; timeoutMs: number }): Promise<Arrival[]> {
  if ((samples.get(tag)?.length ?? 0) < count) {
    const arrived = new Promise<void>((resolve) => waiters.set(tag, { count, resolve }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`only ${samples.get(tag)?.length ?? 0} of ${count} "${tag}" commands arrived within ${timeoutMs} ms (last error: ${counters.lastError})`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([arrived, timeout]);
    } finally {
      clearTimeout(timer);
      waiters.delete(tag);
    }
  }
  const list = samples.get(tag) ?? [];
  samples.delete(tag);
  return list;
}

// Progress events let the driver keep a bounded number of commands in flight.
let progressTimer: NodeJS.Timeout | null = null;
function progress({ intervalMs }: { intervalMs: number }): void {
  if (progressTimer) clearInterval(progressTimer);
  progressTimer = intervalMs > 0 ? setInterval(() => process.send!({ event: 'progress', ...counters }), intervalMs) : null;
}

serveIpc({
  pauses: watchPauses(),
  connect,
  disconnect,
  arrivals,
  latencies: async (args: { tag: string; count: number; timeoutMs: number }) => (await arrivals(args)).map((a) => a.latency),
  progress,
  counters: () => ({ ...counters }),
});
