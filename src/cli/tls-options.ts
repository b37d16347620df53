import { clientTls, type ClientTls } from '../tls/client-tls.js';

/** How the CLI and the reference agent verify courier's certificate on an `https:` URL. */
export const TLS_OPTIONS = {
  ca: { type: 'string' },
  'ca-fingerprint': { type: 'string' },
  insecure: { type: 'boolean', default: false },
} as const;

export const TLS_HELP = `TLS (an https:// URL; courier prints its CA's file and fingerprint on start):
  --ca <file>                    trust this CA (e.g. <data-dir>/tls/ca.pem) [COURIER_CA]
  --ca-fingerprint <sha256>      or pin the CA by its SHA-256 fingerprint [COURIER_CA_FINGERPRINT]
  --insecure                     accept any certificate (an impostor too): testing only`;

export interface TlsValues {
  ca?: string | boolean | undefined;
  'ca-fingerprint'?: string | boolean | undefined;
  insecure?: string | boolean | undefined;
}

/** The flags (or COURIER_CA, COURIER_CA_FINGERPRINT) as the TLS a client uses for `url`; `--insecure` is warned. */
export function tlsFromFlags(url: string, values: TlsValues, env: NodeJS.ProcessEnv = process.env): Promise<ClientTls | undefined> {
  const caFile = typeof values.ca === 'string' ? values.ca : env.COURIER_CA;
  const caFingerprint = typeof values['ca-fingerprint'] === 'string' ? values['ca-fingerprint'] : env.COURIER_CA_FINGERPRINT;
  const insecure = values.insecure === true;
  if (insecure && url.startsWith('https:')) {
    console.error("courier: --insecure: courier's certificate is not verified; anyone in the path can read and answer in its place");
  }
  return clientTls(url, { caFile, caFingerprint, insecure });
}
