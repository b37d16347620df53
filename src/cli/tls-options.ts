import type { Command, OptionValues } from '@commander-js/extra-typings';
import { clientTls, type ClientTls } from '../tls/client-tls.js';

export interface TlsValues {
  ca?: string | undefined;
  caFingerprint?: string | undefined;
  insecure?: true | undefined;
}

/**
 * How the CLI and the reference agent verify courier's certificate on an `https:` URL.
 * (The return type is spelled out: inferred, commander's typings expand into declarations that grow
 * with every option, and the compiler's incremental build writes them.)
 */
export function withTlsOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
): Command<Args, Opts & TlsValues, Globals> {
  return command
    .option('--ca <file>', 'trust this CA for an https:// URL (courier prints its CA file on start, e.g. <data-dir>/tls/ca.pem) [COURIER_CA]')
    .option('--ca-fingerprint <sha256>', 'or pin the CA by its SHA-256 fingerprint, as courier prints it on start [COURIER_CA_FINGERPRINT]')
    .option('--insecure', 'accept any certificate (an impostor too): testing only') as unknown as Command<Args, Opts & TlsValues, Globals>;
}

/** The flags (or COURIER_CA, COURIER_CA_FINGERPRINT) as the TLS a client uses for `url`; `--insecure` is warned. */
export function tlsFromFlags(url: string, values: TlsValues, env: NodeJS.ProcessEnv = process.env): Promise<ClientTls | undefined> {
  const caFile = values.ca ?? env.COURIER_CA;
  const caFingerprint = values.caFingerprint ?? env.COURIER_CA_FINGERPRINT;
  const insecure = values.insecure === true;
  if (insecure && url.startsWith('https:')) {
    console.error("courier: --insecure: courier's certificate is not verified; anyone in the path can read and answer in its place");
  }
  return clientTls(url, { caFile, caFingerprint, insecure });
}
