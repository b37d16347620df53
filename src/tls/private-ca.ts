// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto (its types are Node's own, not the DOM's this library is typed with).
x509.cryptoProvider.set(webcrypto as never);
type CryptoKey = webcrypto.CryptoKey;

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
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
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
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
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

/**
 * A key pair and a certificate signing request for it (PKCS#10, PEM): what an agent sends when it
 * enrolls, to get a client certificate without its private key ever leaving the host.
 */
export async function createCsr(commonName: string): Promise<{ csr: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${commonName}`, keys: keys as never, signingAlgorithm: ALGORITHM });
  return { csr: csr.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** The public key of a certificate signing request, once its own signature proves its sender holds the private key; null if it does not. */
export async function csrPublicKey(csrPem: string): Promise<CryptoKey | null> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    return null;
  }
  if (!(await csr.verify().catch(() => false))) return null;
  return (await csr.publicKey.export().catch(() => null)) as CryptoKey | null;
}

/**
 * A client certificate for the key of a verified CSR (see `csrPublicKey`), naming `agentId` — not
 * whatever name the request asked for: the agent is who enrolled, not who it says it is.
 */
export async function signClientCsr(ca: PemPair, publicKey: CryptoKey, agentId: string, lifetimeDays = SERVER_LIFETIME_DAYS, now = Date.now()): Promise<string> {
  return (await issue(ca, agentId, x509.ExtendedKeyUsage.clientAuth, [agentId], lifetimeDays, now, publicKey)).cert;
}

async function issue(ca: PemPair, commonName: string, usage: string, names: string[], lifetimeDays: number, now: number, subjectKey?: CryptoKey): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const signer = await importSigningKey(ca.key);
  const keys = subjectKey ? null : await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${commonName}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(Math.min(now + lifetimeDays * DAY_MS, caCert.notAfter.getTime())),
    signingKey: signer.key as never,
    publicKey: (subjectKey ?? keys!.publicKey) as never,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage], false),
      new x509.SubjectAlternativeNameExtension(names.map((name) => (isIP(name) ? { type: 'ip', value: name } : { type: 'dns', value: name }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: `${cert.toString('pem')}\n${ca.cert}\n`, key: keys ? await privateKeyPem(keys.privateKey) : '' };
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

/**
 * A CA's private key, ready to sign: courier's own (ECDSA P-256), or an operator's client CA in any
 * PEM form node reads (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"), EC or RSA.
 */
async function importSigningKey(pem: string): Promise<{ key: CryptoKey; algorithm: { name: string; hash: string } }> {
  const key = createPrivateKey(pem);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  if (key.asymmetricKeyType === 'ec') {
    const namedCurve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'P-256';
    const algorithm = { name: 'ECDSA', hash: namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384' };
    return { key: await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']), algorithm };
  }
  throw new Error(`a CA key of type ${key.asymmetricKeyType ?? 'unknown'} cannot sign certificates here (EC or RSA only)`);
}
