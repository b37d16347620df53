import { sleep, wallNow } from '../clock.js';
import type { CourierNode, MemoryReading } from '../courier-node.js';
import { describePauses } from '../pauses.js';
import type { Fleet } from '../fleet.js';
import type { Credentials } from '../load/sim-agents.js';
import { commandSpec, shuffled, type BenchContext } from './context.js';

type Mode = 'websocket' | 'long-poll';

/** Connects agents to courier at the plan's ramp and waits until courier holds all their subscriptions. */
export async function connectAll(ctx: BenchContext, courier: CourierNode, mode: Mode, agents: Credentials[]): Promise<number> {
  const started = performance.now();
  const { failed } = await ctx.fleet.connect({
    transport: mode,
    url: courier.url,
    agents,
    rate: ctx.plan.connectRate,
    concurrency: ctx.plan.connectConcurrency,
    authenticate: true,
    ca: courier.ca,
  });
  if (failed > 0) throw new Error(`${failed} of ${agents.length} ${mode} agents failed to connect: ${(await ctx.fleet.counters()).lastError}`);
  await courier.waitForSubscriptions(mode, agents.length, 60_000);
  return performance.now() - started;
}

export async function disconnectAll(ctx: BenchContext, courier: CourierNode, mode: Mode): Promise<void> {
  await ctx.fleet.disconnect();
  await courier.waitForSubscriptions(mode, 0, 30_000);
}

/** Waits until the fleet has completed `count` more commands than `base`. */
export async function waitCompleted(fleet: Fleet, base: number, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await fleet.counters();
    if (c.completed - base >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${c.completed - base} of ${count} commands completed within ${timeoutMs} ms (last error: ${c.lastError})`);
    await sleep(20);
  }
}

/**
 * Takes the code paths of a connection and a command once before the memory baseline, so that
 * the per-agent slope does not include one-off compilation: a few agents connect, each gets a
 * command and reports its result, then they leave.
 */
export async function warmUp(ctx: BenchContext, courier: CourierNode, mode: Mode, agents: Credentials[]): Promise<void> {
  const few = agents.slice(0, Math.max(1, Math.min(200, Math.floor(agents.length / 10))));
  await connectAll(ctx, courier, mode, few);
  const base = (await ctx.fleet.counters()).completed;
  await courier.submit(few.map((a) => commandSpec({ type: 'agent', id: a.id }, 'bench-warmup')));
  await waitCompleted(ctx.fleet, base, few.length, 30_000);
  await disconnectAll(ctx, courier, mode);
}

/** Resident memory per connected agent: the slope between the baseline and `agents` connected. */
export function perAgentKb(before: MemoryReading, after: MemoryReading, agents: number) {
  return {
    rssKb: (after.rss - before.rss) / 1024 / agents,
    heapKb: (after.heapUsed - before.heapUsed) / 1024 / agents,
    externalKb: (after.external - before.external) / 1024 / agents,
  };
}

/**
 * Dispatch latency: one command per POST on the admin socket, open loop at `rate` per second,
 * each to the next agent of a shuffled list. Latency = agent receipt − the time taken just before
 * the POST (carried in `action.args.sent_at`).
 */
export async function dispatchLatency(ctx: BenchContext, courier: CourierNode, ids: string[], tag: string): Promise<number[]> {
  const { dispatchSamples: count, dispatchRate: rate } = ctx.plan;
  await courier.pauses();
  await ctx.fleet.pauses();
  const cpuBefore = await courier.cpuSeconds();
  const order = shuffled(ids);
  const base = (await ctx.fleet.counters()).completed;
  const posts: Promise<unknown>[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = (i * 1000) / rate - (performance.now() - started);
    if (due > 0) await sleep(due);
    const target = { type: 'agent' as const, id: order[i % order.length]! };
    posts.push(courier.submit([commandSpec(target, 'bench-dispatch', { tag, sent_at: wallNow() })]));
  }
  await Promise.all(posts);
  const samples = await ctx.fleet.latencies(tag, count, 60_000);
  await waitCompleted(ctx.fleet, base, count, 60_000);
  const cpuUs = (((await courier.cpuSeconds()) - cpuBefore) * 1e6) / count;
  ctx.note(`${tag}: courier during the phase: CPU ${Math.round(cpuUs)} µs per command`);
  ctx.note(`${tag}: the load process (agents) during the phase: ${describePauses(await ctx.fleet.pauses())}`);
  return samples;
}

/** One group command to every member; the time until the last member received it (ms). */
export async function fanout(ctx: BenchContext, courier: CourierNode, group: string, members: number, tag: string): Promise<number> {
  const base = (await ctx.fleet.counters()).completed;
  await courier.submit([commandSpec({ type: 'group', id: group }, 'bench-fanout', { tag, sent_at: wallNow() })]);
  const samples = await ctx.fleet.latencies(tag, members, 120_000);
  await waitCompleted(ctx.fleet, base, members, 120_000);
  return Math.max(...samples);
}

/** Whoever takes commands: one courier's admin socket, or several in turn. */
export interface Producer {
  submit(commands: object[]): Promise<Record<string, unknown>[]>;
}

export interface Rates {
  receivedPerS: number;
  completedPerS: number;
}

/** The fleet's receipt and completion rates over [warmup, warmup + duration). */
export async function measureRates(fleet: Fleet, warmupMs: number, durationMs: number): Promise<Rates> {
  await sleep(warmupMs);
  const a = await fleet.counters();
  const t0 = performance.now();
  await sleep(durationMs);
  const b = await fleet.counters();
  const seconds = (performance.now() - t0) / 1000;
  return { receivedPerS: (b.received - a.received) / seconds, completedPerS: (b.completed - a.completed) / seconds };
}

/**
 * Sustained load through the whole lifecycle: POSTs of `batch` commands (round-robin over the
 * agents, at most `concurrency` POSTs at once) while no more than `window` commands are created and
 * not yet completed (result recorded and acknowledged to the agent). Returns the measured rates
 * and a command as an agent received it (the raw floor pushes frames of the same shape).
 */
export async function sustain(
  ctx: BenchContext,
  courier: Producer,
  ids: string[],
  shape: { window: number; batch: number } = ctx.plan,
): Promise<Rates & { sample: Record<string, unknown> }> {
  const { warmupMs, throughputMs } = ctx.plan;
  const { window, batch } = shape;
  const concurrency = 4;
  const fleet = ctx.fleet;
  const base = (await fleet.counters()).completed;
  await fleet.progress(5);
  let submitted = 0;
  let posting = 0;
  let next = 0;
  // Set by a rejection below; typed so that the checks after the loop are not narrowed to `null`.
  let failure = null as Error | null;
  let sample: Record<string, unknown> | null = null;
  let wake: () => void = () => {};
  const measuring = measureRates(fleet, warmupMs, throughputMs);
  let done = false;
  void measuring.finally(() => (done = true));
  while (!done && failure === null) {
    const outstanding = submitted - (fleet.latest.completed - base);
    if (posting < concurrency && outstanding + batch <= window) {
      const commands = Array.from({ length: batch }, () => commandSpec({ type: 'agent', id: ids[next++ % ids.length]! }, 'bench-throughput'));
      submitted += batch;
      posting++;
      void courier
        .submit(commands)
        .then(
          (views) => (sample ??= views[0] ?? null),
          (error: unknown) => (failure = error instanceof Error ? error : new Error(String(error))),
        )
        .finally(() => {
          posting--;
          wake();
        });
      continue;
    }
    await Promise.race([fleet.nextProgress(), new Promise<void>((resolve) => (wake = resolve))]);
  }
  const rates = await measuring;
  await fleet.progress(0);
  if (failure !== null) throw failure;
  while (posting > 0) await new Promise<void>((resolve) => (wake = resolve));
  await waitCompleted(fleet, base, submitted, 120_000);
  return { ...rates, sample: { ...sample!, status: 'sent' } };
}
