import { createCourier } from 'courier';
import { plugin, prefix } from './rbac-component.js';

// A program that embeds courier with the rbac component in the same process. The options not given
// take courier's defaults; these are the ones a local try-out changes. It stops on SIGINT or
// SIGTERM, and then ends by itself: courier leaves nothing holding the process.
//
//   node dist/examples/rbac/embedded.js <data directory>

const courier = await createCourier({
  dataDir: process.argv[2] ?? 'data',
  host: '127.0.0.1',
  port: 0,
  managementPort: 0,
  insecureHttp: true,
  logLevel: 'warn',
});
await courier.admin.register(plugin, { prefix });
// One line for whoever started it: where the socket is.
console.log(JSON.stringify({ socket: courier.admin.socket, routes: courier.admin.prefixes }));

const stop = (): void => {
  courier.close().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
