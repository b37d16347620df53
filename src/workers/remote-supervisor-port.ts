import type { CommandView } from '../domain/command.js';
import type { ResultOutcome, ResultReport } from '../runtime/results.js';
import type { SubscriberTransport, SubscriptionMode } from '../runtime/subscription.js';
import type { OpenOptions } from '../runtime/subscriptions.js';
import type { PortSubscription, ReportingConnection, SupervisorPort } from '../runtime/supervisor-port.js';
import type { IpcChannel } from './ipc-channel.js';

/** A subscription of this worker's connection, held by the primary's supervisor under `id`. */
class RemoteSubscription implements PortSubscription {
  closed = false;
  /** Handed to it and not confirmed: counted up by pushes, set by the primary's answer to each ack and results frame. */
  inFlightCount = 0;

  constructor(
    readonly id: number,
    readonly mode: SubscriptionMode,
    readonly transport: SubscriberTransport,
  ) {}
}

/**
 * The supervisor of the primary process, as a connection worker reaches it (`--workers`): every call
 * is a message on the channel (see `WorkerConnections` for the other side), and what the supervisor
 * does to a connection (push, timeout, drain, revoke, hold) comes back as one.
 */
export class RemoteSupervisorPort implements SupervisorPort {
  private readonly subscriptions = new Map<number, RemoteSubscription>();
  private nextId = 0;
  /** Set false when the primary stops accepting agents' requests (a shutdown). */
  running = true;

  constructor(private readonly channel: IpcChannel) {
    channel.on('push', (id: number, commands: CommandView[]) => {
      const sub = this.subscriptions.get(id);
      if (!sub) return;
      sub.inFlightCount += commands.length;
      // A long-poll is answered once.
      if (sub.mode === 'long-poll') sub.closed = true;
      sub.transport.push(commands);
    });
    channel.on('timedOut', (id: number) => this.end(id)?.timedOut?.());
    channel.on('drain', (id: number) => this.end(id)?.drain());
    channel.on('revoked', (id: number) => this.end(id)?.revoked?.());
    channel.on('hold', (id: number) => this.subscriptions.get(id)?.transport.hold?.());
  }

  subscribe(route: string, mode: SubscriptionMode, who: string, transport: SubscriberTransport, options: OpenOptions = {}): PortSubscription {
    const sub = new RemoteSubscription(++this.nextId, mode, transport);
    this.subscriptions.set(sub.id, sub);
    this.channel.post('subscribe', sub.id, route, mode, who, options, transport.maxInFlight ?? null);
    return sub;
  }

  unsubscribe(subscription: PortSubscription): void {
    const sub = subscription as RemoteSubscription;
    sub.closed = true;
    if (this.subscriptions.delete(sub.id)) this.channel.post('unsubscribe', sub.id);
  }

  written(subscription: PortSubscription): void {
    this.channel.post('written', (subscription as RemoteSubscription).id);
  }

  wake(subscription: PortSubscription): void {
    this.channel.post('wake', (subscription as RemoteSubscription).id);
  }

  congested(subscription: PortSubscription, over: boolean): void {
    this.channel.post('congested', (subscription as RemoteSubscription).id, over);
  }

  async refreshInFlight(subscription: PortSubscription): Promise<void> {
    const sub = subscription as RemoteSubscription;
    sub.inFlightCount = await this.channel.call<number>('inFlight', sub.id);
  }

  async acknowledge(subscription: PortSubscription, documentIds: readonly string[]): Promise<void> {
    const sub = subscription as RemoteSubscription;
    sub.inFlightCount = await this.channel.call<number>('acknowledge', sub.id, documentIds);
  }

  async reportResults(reports: ResultReport[], route: string, who: string, connection?: ReportingConnection): Promise<ResultOutcome[]> {
    const sub = connection?.subscription as RemoteSubscription | undefined;
    const [outcomes, inFlight] = await this.channel.call<[ResultOutcome[], number]>('results', reports, route, who, sub?.id ?? null, connection?.acked ?? []);
    if (sub) sub.inFlightCount = inFlight;
    return outcomes;
  }

  /** The primary ended the subscription: its transport, to be told how. */
  private end(id: number): SubscriberTransport | undefined {
    const sub = this.subscriptions.get(id);
    if (sub) sub.closed = true;
    return sub?.transport;
  }
}
