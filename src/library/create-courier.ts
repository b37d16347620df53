import { configFrom } from '../config.js';
import { startCourier, type RunningCourier } from '../courier.js';
import { commandView } from '../domain/command.js';
import { errors } from '../errors.js';
import { createLogger } from '../logger.js';
import { historyView } from '../operator-routes/command-routes.js';
import { commandSpecs } from './command-input.js';
import { subscribeComponent } from './component-subscription.js';
import type { CommandsApi, Courier, CourierConfig, CourierOptions } from './courier-api.js';
import { loadPluginModules } from './plugin-modules.js';
import { TransitionFeed } from './transition-feed.js';
import type { Logger } from 'pino';

/**
 * Starts courier in this process — the runtime `courier serve` runs, its listeners and socket
 * included — and resolves once it answers. `config` needs only the options that differ from the
 * defaults; each one given is checked as its flag would be (durations in ms). The plugin modules it
 * names (`plugin`) are imported first: one that cannot be used stops the start before anything runs.
 */
export async function createCourier(config: CourierConfig = {}, options: CourierOptions = {}): Promise<Courier> {
  const resolved = configFrom(config);
  const plugins = await loadPluginModules(resolved.plugin);
  const logger = options.logger ?? createLogger(resolved);
  const courier = embedded(await startCourier(resolved, { logger }), logger);
  try {
    for (const { plugin, prefix, module } of plugins) {
      await courier.admin.register(plugin, { prefix });
      logger.info({ module, prefix }, 'plugin routes on the admin socket');
    }
  } catch (error) {
    await courier.close().catch((err: unknown) => logger.error({ err }, 'stopping after a plugin was refused failed'));
    throw error;
  }
  return courier;
}

/** The public face of a running courier. */
function embedded(running: RunningCourier, logger: Logger): Courier {
  const { supervisor } = running;
  const feed = new TransitionFeed(running.operators, supervisor, logger);
  const subscriptions = new Set<ReturnType<typeof subscribeComponent>>();
  let closing: Promise<void> | undefined;

  const commands: CommandsApi = {
    async submit(inputs, { who, idempotencyKey } = { who: '' }) {
      if (typeof who !== 'string' || who === '') throw errors.VALIDATION('submit needs { who }: who asks, for the audit trail');
      const specs = commandSpecs(inputs);
      // In process is as trusted as the socket: its commands' requests are the socket's.
      return supervisor.submit(specs, who, { owner: 'socket', idempotencyKey });
    },
    async get(documentId) {
      const state = await supervisor.get(documentId);
      return state ? commandView(state) : null;
    },
    async history(documentId) {
      const events = await supervisor.history(documentId);
      return events ? historyView(events).events : null;
    },
    cancel: async (documentId, { who = 'in-process' } = {}) => supervisor.cancel(documentId, who),
  };

  const courier: Courier = {
    config: running.config,
    commands,
    subscribe(target, handler, options) {
      if (closing) throw errors.SHUTTING_DOWN();
      const subscription = subscribeComponent(supervisor, logger, target, handler, options);
      subscriptions.add(subscription);
      return {
        target: subscription.target,
        get closed() {
          return subscription.closed;
        },
        close: async () => {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },
    events: feed,
    admin: {
      socket: running.socket,
      register: async (plugin, { prefix }) => running.adminRoutes.register(plugin, prefix, { courier }),
      get prefixes() {
        return running.adminRoutes.prefixes;
      },
    },
    url: running.url,
    managementUrl: running.managementUrl,
    ...(running.tls ? { tls: running.tls } : {}),
    ...(running.inspector ? { inspector: running.inspector } : {}),
    reloadTls: () => running.reloadTls(),
    reloadTokenKeys: () => running.reloadTokenKeys(),
    close: () =>
      (closing ??= (async () => {
        feed.close();
        // Nothing more is taken in process; what they hold and have not started goes back to pending.
        for (const subscription of subscriptions) subscription.end();
        await running.stop();
      })()),
  };
  return courier;
}
