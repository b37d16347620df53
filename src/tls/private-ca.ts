// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto (its types are Node's own, not the DOM's this library is typed with).
x509.cryptoProvider.set(webcrypto as never);
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** ECDSA P-256: small keys, fast handshakes, supported by every TLS 1.2+ client. */
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
export const CA_LIFETIME_DAYS = 3650;
/** The most that browsers and Apple clients accept for a server certificate. */
export const SERVER_LIFETIME_DAYS = 397;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

/** A private CA for one courier installation: it signs the server certificate agents pin. */
export async function createCa(commonName: string, now = Date.now()): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - DAY_MS), // a day of slack for clients whose clocks lag
    notAfter: new Date(now + CA_LIFETIME_DAYS * DAY_MS),
    keys: keys as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/**
 * A server certificate signed by `ca`, valid for `hosts` (DNS names and IP addresses, the first
 * one also its common name). The returned `cert` is the chain: the server certificate, then the CA,
 * so that a client pinning the CA's fingerprint finds it in the handshake.
 */
export async function issueServerCertificate(ca: PemPair, hosts: string[], now = Date.now()): Promise<PemPair> {
  return issue(ca, hosts[0] ?? 'courier', x509.ExtendedKeyUsage.serverAuth, hosts, SERVER_LIFETIME_DAYS, now);
}

/**
 * A client certificate for mutual TLS: its subject's CN is the agent id (and so is its one DNS
 * name), which the agents API checks against the agent that authenticates. `cert` is the chain.
 */
export async function issueClientCertificate(ca: PemPair, agentId: string, lifetimeDays = SERVER_LIFETIME_DAYS, now = Date.now()): Promise<PemPair> {
  return issue(ca, agentId, x509.ExtendedKeyUsage.clientAuth, [agentId], lifetimeDays, now);
}

async function issue(ca: PemPair, commonName: string, usage: string, names: string[], lifetimeDays: number, now: number): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importPrivateKey(ca.key);
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${commonName}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(Math.min(now + lifetimeDays * DAY_MS, caCert.notAfter.getTime())),
    signingKey: caKey as never,
    publicKey: keys.publicKey as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage], false),
      new x509.SubjectAlternativeNameExtension(names.map((name) => (isIP(name) ? { type: 'ip', value: name } : { type: 'dns', value: name }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: `${cert.toString('pem')}\n${ca.cert}\n`, key: await privateKeyPem(keys.privateKey) };
}

/** The SHA-256 fingerprint of a PEM certificate (its first one), as `AB:CD:…`, the form agents pin. */
export function fingerprint256(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/**
 * Whether the (first) certificate of `pem` still has `marginDays` to live and names every host.
 * A server certificate that does not is issued again at start.
 */
export function coversHosts(pem: string, hosts: string[], now: number, marginDays: number): boolean {
  const cert = new X509Certificate(pem);
  if (Date.parse(cert.validTo) - now < marginDays * DAY_MS) return false;
  return hosts.every((host) => (isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined));
}

function serialNumber(): string {
  // Positive (high bit clear) and unique: 16 random bytes.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0]!;
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']) as Promise<CryptoKey>;
}
