import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { ReferenceAgent } from '../agent/reference-agent.js';
import { TLS_HELP, TLS_OPTIONS, tlsFromFlags } from './tls-options.js';
import { refuseKeyFlag } from './connection.js';
import type { ClientTls } from '../tls/client-tls.js';
import { enroll } from '../agent/enrollment.js';
import { readKeyFile, reserveKeyFile, type AgentCredentials } from '../agent/key-file.js';
import { EXIT } from './exit-codes.js';

/** The agent's key from the environment (so that it does not show in `ps`), when neither --agent-key nor --key-file is given. */
const AGENT_KEY_ENV = 'COURIER_AGENT_KEY';

const AGENT_HELP = `Usage:
  courier agent --url <https://host:27000> --enroll <token> --key-file <path> [--id <id>] [--name <name>] [--ws]
  courier agent --url <https://host:27000> --key-file <path> [--ws]
  courier agent --url <https://host:27000> --id <agent id> --agent-key <key> [--ws] [--result-code <n>]
  (each with the TLS options below; COURIER_AGENT_KEY=<key> instead of --agent-key keeps the key out of \`ps\`)

Runs the reference agent: it authenticates, says on stderr when it is connected, receives its
commands (long-poll, or WebSocket with --ws), prints each one as a JSON line, and reports the result
(code 0 = success). It retries through network problems, but stops (exit 1) when courier refuses its
credentials (the agent was removed, or registered again with another key).

  --enroll <token>   register this host with an enrollment token (courier enrollment-tokens create),
                     then keep the id and key courier gives in --key-file (created with mode 0600).
                     If the key file exists already, it is used and the token is not presented again.
  --id <id>          the agent id to ask for (default: courier makes a UUID)
  --name <name>      a name to show beside the id (default: this host's name)
  --client-certificate  with --enroll, for mutual TLS: make a key here and ask courier for a client
                     certificate of it (courier started with --tls-client-ca-key); both are kept in --key-file

${TLS_HELP}`;

export async function runAgent(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string', default: 'https://127.0.0.1:27000' },
      ...TLS_OPTIONS,
      id: { type: 'string' },
      'agent-key': { type: 'string' },
      // Refused with a message naming the flags that replace it.
      key: { type: 'string' },
      'key-file': { type: 'string' },
      'client-certificate': { type: 'boolean', default: false },
      enroll: { type: 'string' },
      name: { type: 'string' },
      ws: { type: 'boolean', default: false },
      'result-code': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  refuseKeyFlag(values);
  const keyFile = values['key-file'];
  const problem = usageProblem(values);
  if (values.help || problem) {
    if (problem && args.length > 0) console.error(`courier agent: ${problem}`);
    console.log(AGENT_HELP);
    return values.help ? 0 : 2;
  }
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  // Before anything is sent: a pinned CA is read from the server's handshake.
  const tls = await tlsFromFlags(values.url, values);
  let credentials: AgentCredentials;
  if (keyFile) {
    const found = await credentialsFor(keyFile, values, tls, stopping.signal);
    if (!found) return stopping.signal.aborted ? 0 : 1;
    credentials = found;
  } else {
    credentials = { id: values.id!, key: values['agent-key'] ?? process.env[AGENT_KEY_ENV]! };
  }
  if (stopping.signal.aborted) return 0;

  // Mutual TLS: the client certificate kept with the credentials goes with every connection.
  const withCertificate = credentials.certificate && credentials.certificateKey ? { cert: credentials.certificate, key: credentials.certificateKey } : {};
  let refused = false;
  const transport = values.ws ? 'websocket' : 'long-poll';
  const agent = new ReferenceAgent({
    url: values.url,
    tls: tls ? { ...tls, ...withCertificate } : undefined,
    id: credentials.id,
    key: credentials.key,
    transport,
    resultCode: Number(values['result-code']),
    onCommand: (command) => console.log(JSON.stringify(command)),
    onConnected: () => console.error(`agent: connected to ${values.url} as ${credentials.id} (${transport})`),
    onRefused: (message) => {
      refused = true;
      console.error(`courier agent: ${message}; stopping (was the agent removed, or registered again with another key?)`);
    },
    onProblem: (message) =>
      console.error(
        `agent: ${message}${/self[- ]signed|unable to verify|local issuer/i.test(message) ? " (verify courier's certificate with --ca <data-dir>/tls/ca.pem or --ca-fingerprint <sha256>, as courier printed on start)" : ''}`,
      ),
  });
  agent.start();
  await Promise.race([
    agent.done,
    new Promise<void>((resolve) => (stopping.signal.aborted ? resolve() : stopping.signal.addEventListener('abort', () => resolve(), { once: true }))),
  ]);
  await agent.stop();
  return refused ? EXIT.ERROR : EXIT.OK;
}

function usageProblem(values: { id?: string | undefined; 'agent-key'?: string | undefined; 'key-file'?: string | undefined; enroll?: string | undefined }): string | undefined {
  if (values['key-file']) return values['agent-key'] ? 'give --agent-key or --key-file, not both' : undefined;
  if (values.enroll) return '--enroll needs --key-file: where the agent keeps the key it is given';
  if (!values.id || !(values['agent-key'] ?? process.env[AGENT_KEY_ENV]))
    return `give --id and --agent-key (or ${AGENT_KEY_ENV}), or --key-file (with --enroll <token> the first time)`;
  return undefined;
}

/** The stored credentials, or new ones from enrolling (kept in the key file); null when there are none. */
async function credentialsFor(
  keyFile: string,
  values: { url: string; id?: string | undefined; enroll?: string | undefined; name?: string | undefined; 'client-certificate'?: boolean | undefined },
  tls: ClientTls | undefined,
  signal: AbortSignal,
): Promise<AgentCredentials | null> {
  const stored = readKeyFile(keyFile);
  if (stored) {
    if (stored.tightened) console.error(`agent: ${keyFile} was readable by others: its mode is now 0600`);
    if (values.id && values.id !== stored.credentials.id) {
      console.error(`courier agent: ${keyFile} holds the credentials of agent ${stored.credentials.id}, not ${values.id}`);
      return null;
    }
    if (values.enroll) console.error(`agent: already enrolled as ${stored.credentials.id} (${keyFile}); the token is not used`);
    return stored.credentials;
  }
  if (!values.enroll) {
    console.error(`courier agent: no key file at ${keyFile}: enroll first with --enroll <token>`);
    return null;
  }
  const reserved = reserveKeyFile(keyFile);
  try {
    const credentials = await enroll({
      url: values.url,
      tls,
      clientCertificate: values['client-certificate'] === true,
      token: values.enroll,
      id: values.id,
      name: values.name ?? hostname(),
      signal,
      onProblem: (message) => console.error(`agent: ${message}; trying again`),
    });
    reserved.write(credentials);
    console.error(`agent: enrolled as ${credentials.id}${credentials.certificate ? ' with a client certificate' : ''}; credentials kept in ${keyFile}`);
    if (values['client-certificate'] && !credentials.certificate) console.error('agent: courier sent no client certificate (does it run with --tls-client-ca-key?)');
    return credentials;
  } catch (error) {
    reserved.abandon();
    if (signal.aborted) return null;
    throw error;
  }
}
