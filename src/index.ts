/**
 * courier as a library: `createCourier(config)` starts the runtime `courier serve` runs, in this
 * process. Everything a program embedding it may use is exported here, and only here (the
 * package's `exports` map names this module alone). See docs/embedding.md.
 */
export { createCourier } from './library/create-courier.js';
export { CourierError } from './errors.js';
export type {
  AdminApi,
  AdminPlugin,
  CommandHandler,
  CommandInput,
  CommandOutcome,
  CommandStatus,
  CommandsApi,
  CommandView,
  ComponentSubscription,
  Config,
  Courier,
  CourierConfig,
  CourierEvent,
  CourierOptions,
  EventFilter,
  EventsApi,
  HistoryEntry,
  ListenOptions,
  ServerTarget,
  SubmitOptions,
  SubscribeOptions,
} from './library/courier-api.js';
