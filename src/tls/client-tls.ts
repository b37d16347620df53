import { readFileSync } from 'node:fs';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { isIP } from 'node:net';

/** How a client (the reference agent, the CLI) verifies courier's certificate: what `https` and `ws` take. */
export interface ClientTls {
  /** The CA to trust (PEM); absent: the system's CAs (a certificate from a public CA). */
  ca?: string;
  /** false only with an explicit `--insecure`. */
  rejectUnauthorized: boolean;
  /** A client certificate (PEM, with its chain) and its key, for mutual TLS. */
  cert?: string;
  key?: string;
}

export interface ClientTlsChoice {
  /** A PEM file of the CA (e.g. `<data-dir>/tls/ca.pem` of the courier it talks to). */
  caFile?: string | undefined;
  /** The SHA-256 fingerprint of the CA, as courier prints it: the CA is taken from the handshake if it matches. */
  caFingerprint?: string | undefined;
  /** Accept any certificate (no protection against an impostor): only when asked for, and warned. */
  insecure?: boolean | undefined;
}

/**
 * What a client trusts when it talks to `url`. An `http:` URL needs nothing; otherwise, in order:
 * the CA file given, the CA pinned by its fingerprint (as Velociraptor's clients pin theirs), no
 * verification at all when `insecure`, and else the system's CAs.
 */
export async function clientTls(url: string, choice: ClientTlsChoice): Promise<ClientTls | undefined> {
  if (new URL(url).protocol !== 'https:') return undefined;
  if (choice.caFile) return { ca: readFileSync(choice.caFile, 'utf8'), rejectUnauthorized: true };
  if (choice.caFingerprint) return { ca: await pinnedCa(url, choice.caFingerprint), rejectUnauthorized: true };
  if (choice.insecure) return { rejectUnauthorized: false };
  return { rejectUnauthorized: true };
}

/**
 * Finds, in the certificate chain the server presents, the CA whose SHA-256 fingerprint is
 * `fingerprint`, and returns it (PEM). Nothing is sent on this connection: it only reads the
 * handshake. From then on the CA is trusted as if it had been given as a file, so every
 * connection is verified in full (signature, validity, host name).
 */
export function pinnedCa(url: string, fingerprint: string, timeoutMs = 10_000): Promise<string> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const wanted = normalize(fingerprint);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port || 443), ...(isIP(host) ? {} : { servername: host }), rejectUnauthorized: false });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake with ${url} within ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const chain = certificateChain(socket.getPeerCertificate(true));
      socket.destroy();
      const ca = chain.find((cert) => normalize(cert.fingerprint256) === wanted);
      if (ca) return resolve(toPem(ca.raw));
      reject(
        new Error(
          `${url} did not present a CA with the SHA-256 fingerprint ${fingerprint}: refusing to talk to it ` +
            `(it presented ${chain.map((c) => c.fingerprint256).join(', ') || 'no certificate'})`,
        ),
      );
    });
  });
}

function certificateChain(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  for (let cert: DetailedPeerCertificate | undefined = leaf; cert && cert.raw && !chain.includes(cert); cert = cert.issuerCertificate) {
    chain.push(cert);
    if (cert.issuerCertificate === cert) break; // a self-signed root points at itself
  }
  return chain;
}

function normalize(fingerprint: string): string {
  return fingerprint.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
}
