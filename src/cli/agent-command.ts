import { hostname } from 'node:os';
import { Option, type Command } from '@commander-js/extra-typings';
import { ReferenceAgent } from '../agent/reference-agent.js';
import { tlsFromFlags, withTlsOptions, type TlsValues } from './tls-options.js';
import { refuseKeyFlag } from './connection.js';
import type { ClientTls } from '../tls/client-tls.js';
import { enroll } from '../agent/enrollment.js';
import { readKeyFile, reserveKeyFile, type AgentCredentials } from '../agent/key-file.js';
import { EXIT } from './exit-codes.js';
import { exits, UsageError, wholeNumberOf } from './usage.js';

/** The agent's key from the environment (so that it does not show in `ps`), when neither --agent-key nor --key-file is given. */
const AGENT_KEY_ENV = 'COURIER_AGENT_KEY';

/** `courier agent`: the reference agent. */
export function registerAgent(program: Command): void {
  withTlsOptions(
    program
      .command('agent')
      .description('run the reference agent (prints commands, reports success; --enroll to register itself)')
      .option('--url <url>', "courier's agents API", 'https://127.0.0.1:27000')
      .option('--id <id>', 'the agent id (with --enroll: the one to ask for; default: courier makes a UUID)')
      .addOption(new Option('--agent-key <key>', `the agent's own key (or ${AGENT_KEY_ENV}, which keeps it out of \`ps\`)`).conflicts('keyFile'))
      // Refused with a message naming the flags that replace it.
      .addOption(new Option('--key <key>').hideHelp())
      .option('--key-file <path>', 'where the agent keeps its id and key (mode 0600); with --enroll, made the first time')
      .option('--enroll <token>', 'register this host with an enrollment token (courier enrollment-tokens create); needs --key-file')
      .option('--name <name>', "with --enroll, a name to show beside the id (default: this host's name)")
      .option('--client-certificate', 'with --enroll, for mutual TLS: make a key here and ask courier for a client certificate of it')
      .option('--ws', 'receive commands over WebSocket (default: long-poll)')
      .option('--result-code <n>', 'the result code reported for every command (0 = success)', wholeNumberOf('a result code', 0, 255), 0),
  )
    .addHelpText(
      'after',
      `
It authenticates, says on stderr when it is connected, receives its commands, prints each one as a JSON
line, and reports the result. It retries through network problems, but stops (exit 1) when courier refuses
its credentials (the agent was removed, or registered again with another key).`,
    )
    .action(exits(runAgent));
}

type AgentOptions = TlsValues & {
  url: string;
  id?: string | undefined;
  agentKey?: string | undefined;
  key?: string | undefined;
  keyFile?: string | undefined;
  enroll?: string | undefined;
  name?: string | undefined;
  clientCertificate?: true | undefined;
  ws?: true | undefined;
  resultCode: number;
};

async function runAgent(values: AgentOptions): Promise<number> {
  refuseKeyFlag(values);
  const keyFile = values.keyFile;
  const problem = usageProblem(values);
  if (problem) throw new UsageError('agent', problem);
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
    credentials = { id: values.id!, key: values.agentKey ?? process.env[AGENT_KEY_ENV]! };
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
    resultCode: values.resultCode,
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

function usageProblem(values: AgentOptions): string | undefined {
  if (values.keyFile) return undefined;
  if (values.enroll) return '--enroll needs --key-file: where the agent keeps the key it is given';
  if (!values.id || !(values.agentKey ?? process.env[AGENT_KEY_ENV]))
    return `give --id and --agent-key (or ${AGENT_KEY_ENV}), or --key-file (with --enroll <token> the first time)`;
  return undefined;
}

/** The stored credentials, or new ones from enrolling (kept in the key file); null when there are none. */
async function credentialsFor(keyFile: string, values: AgentOptions, tls: ClientTls | undefined, signal: AbortSignal): Promise<AgentCredentials | null> {
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
      clientCertificate: values.clientCertificate === true,
      token: values.enroll,
      id: values.id,
      name: values.name ?? hostname(),
      signal,
      onProblem: (message) => console.error(`agent: ${message}; trying again`),
    });
    reserved.write(credentials);
    console.error(`agent: enrolled as ${credentials.id}${credentials.certificate ? ' with a client certificate' : ''}; credentials kept in ${keyFile}`);
    if (values.clientCertificate && !credentials.certificate) console.error('agent: courier sent no client certificate (does it run with --tls-client-ca-key?)');
    return credentials;
  } catch (error) {
    reserved.abandon();
    if (signal.aborted) return null;
    throw error;
  }
}
