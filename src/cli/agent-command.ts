import { parseArgs } from 'node:util';
import { ReferenceAgent } from '../agent/reference-agent.js';
import { TLS_HELP, TLS_OPTIONS, tlsFromFlags } from './tls-options.js';

const AGENT_HELP = `Usage: courier agent --url <https://host:27000> --id <agent id> --key <key> [--ws] [--result-code <n>] [TLS]

Runs the reference agent: it authenticates, receives its commands (long-poll, or WebSocket
with --ws), prints each one as a JSON line, and reports the result (code 0 = success).

${TLS_HELP}`;

export async function runAgent(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string', default: 'https://127.0.0.1:27000' },
      ...TLS_OPTIONS,
      id: { type: 'string' },
      key: { type: 'string' },
      ws: { type: 'boolean', default: false },
      'result-code': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.id || !values.key) {
    console.log(AGENT_HELP);
    return values.help ? 0 : 2;
  }
  const agent = new ReferenceAgent({
    url: values.url,
    tls: await tlsFromFlags(values.url, values),
    id: values.id,
    key: values.key,
    transport: values.ws ? 'websocket' : 'long-poll',
    resultCode: Number(values['result-code']),
    onCommand: (command) => console.log(JSON.stringify(command)),
    onProblem: (message) =>
      console.error(
        `agent: ${message}${/self[- ]signed|unable to verify|local issuer/i.test(message) ? " (verify courier's certificate with --ca <data-dir>/tls/ca.pem or --ca-fingerprint <sha256>, as courier printed on start)" : ''}`,
      ),
  });
  agent.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await agent.stop();
  return 0;
}
