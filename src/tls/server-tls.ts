import { existsSync, mkdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions, Server as TlsServer, TLSSocket } from 'node:tls';
import { writePrivateFile } from '../data-dir.js';
import type { Logger } from 'pino';
import type { webcrypto } from 'node:crypto';
import { errors } from '../errors.js';
import { coversHosts, createCa, csrPublicKey, fingerprint256, issueServerCertificate, signClientCsr, type PemPair } from './private-ca.js';

type CryptoKey = webcrypto.CryptoKey;

/**
 * TLS 1.2 and 1.3 only, with forward-secret AEAD suites (Mozilla's "intermediate" list): what
 * Fleet Server and the Wazuh comms API accept from their agents.
 */
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** A server certificate made here is issued again when it has less than this left, at the next start. */
const RENEW_DAYS = 30;

export interface ServerTlsSettings {
  dataDir: string;
  /** PEM files given by the operator; absent: a private CA and a certificate made in the data directory. */
  certFile: string | undefined;
  keyFile: string | undefined;
  /** PEM file of the CA that signs agents' client certificates (mutual TLS on the agents API). */
  clientCaFile: string | undefined;
  /** Its private key: with it, courier signs the certificate requests agents send when they enroll. */
  clientCaKeyFile?: string | undefined;
  /** Names and addresses the made certificate must hold (besides this host's name, localhost and loopback). */
  hosts: string[];
}

/** A listener whose certificate can be replaced: a TLS server, or the connection workers that terminate TLS for one. */
export type SecureContextHolder = Pick<TlsServer, 'setSecureContext'>;

/** What a listener needs to serve TLS (the options of `https.createServer`). */
export type TlsServerOptions = SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean; minVersion: 'TLSv1.2' };

/**
 * The TLS of courier's two TCP listeners: the operator's certificate and key, or (by default) a
 * private CA and a server certificate courier makes in `<data-dir>/tls` on first start. Files are
 * read again on `reload()` (SIGHUP) and, for the operator's files, when they change: new
 * connections get the new certificate, open ones keep theirs.
 */
export class ServerTls {
  private readonly servers = new Set<{ server: SecureContextHolder; agents: boolean }>();
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly settings: ServerTlsSettings,
    private readonly logger: Logger,
    private pair: PemPair,
    private clientCa: string | undefined,
    /** The made CA's file, when courier made the certificate; clients pin it or its fingerprint. */
    readonly caFile: string | undefined,
  ) {}

  static async prepare(settings: ServerTlsSettings, logger: Logger, now = Date.now()): Promise<ServerTls> {
    const { certFile, keyFile } = settings;
    if ((certFile === undefined) !== (keyFile === undefined)) throw errors.CONFIG('--tls-cert and --tls-key go together: give both, or neither (courier then makes its own)');
    if (settings.clientCaKeyFile !== undefined && settings.clientCaFile === undefined) throw errors.CONFIG('--tls-client-ca-key needs --tls-client-ca (the CA whose key it is)');
    const clientCa = settings.clientCaFile === undefined ? undefined : readPem(settings.clientCaFile, 'CERTIFICATE');
    if (certFile !== undefined && keyFile !== undefined) {
      return new ServerTls(settings, logger, { cert: readPem(certFile, 'CERTIFICATE'), key: readPem(keyFile, 'PRIVATE KEY') }, clientCa, undefined);
    }
    const made = await privateCertificate(settings, now);
    return new ServerTls(settings, logger, made.pair, clientCa, made.caFile);
  }

  /** The SHA-256 fingerprint of the CA that clients should pin (the last certificate of the chain served). */
  get caFingerprint(): string {
    const chain = this.pair.cert.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [this.pair.cert];
    return fingerprint256(chain[chain.length - 1]!);
  }

  /**
   * Signs client certificates for enrolling agents, when courier holds the client CA's key: `check`
   * verifies a request (PKCS#10: its signature proves the sender holds the key), `sign` issues the
   * certificate for the key, naming the agent. Undefined when courier signs none.
   */
  clientCertificates(): { check(csr: string): Promise<CryptoKey | null>; sign(key: CryptoKey, agentId: string): Promise<string> } | undefined {
    const { clientCaKeyFile } = this.settings;
    if (this.clientCa === undefined || clientCaKeyFile === undefined) return undefined;
    readPem(clientCaKeyFile, 'PRIVATE KEY'); // unreadable: said at start, not at the first enrollment
    return {
      check: (csr) => csrPublicKey(csr),
      // Read at each signing, so that a client CA rotated (and reloaded) signs with its own key.
      sign: (key, agentId) => signClientCsr({ cert: this.clientCa!, key: readPem(clientCaKeyFile, 'PRIVATE KEY') }, key, agentId),
    };
  }

  /** Whether agents must present a client certificate (mutual TLS). */
  get mutual(): boolean {
    return this.clientCa !== undefined;
  }

  /** The `https.createServer` options of a listener; `agents`: the agents API, where mutual TLS applies. */
  serverOptions(agents: boolean): TlsServerOptions {
    const mutual = agents && this.clientCa !== undefined;
    return {
      key: this.pair.key,
      cert: this.pair.cert,
      minVersion: 'TLSv1.2',
      ciphers: CIPHERS,
      honorCipherOrder: true,
      // The certificate is asked for and checked in the handshake, but a missing or wrong one is refused
      // by the routes, with courier's error body, not by a handshake failure the agent cannot read.
      ...(mutual ? { requestCert: true, rejectUnauthorized: false, ca: this.clientCa } : {}),
    };
  }

  /** Keeps a listener's certificate current: `reload()` gives it the files' new contents. */
  attach(server: SecureContextHolder, agents: boolean): void {
    this.servers.add({ server, agents });
  }

  /** Follows the operator's files: a change (a renewal, a rotation) is served without a restart. */
  watchFiles(): void {
    const files = [this.settings.certFile, this.settings.keyFile, this.settings.clientCaFile].filter((f): f is string => f !== undefined);
    for (const file of files) this.watchFile(file);
  }

  private watchFile(file: string): void {
    const watcher = watch(file, (event) => {
      // Renewals write several files, often in several steps: reload once they are all written.
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload().catch(() => {}), 200);
      // A file replaced by a rename (an atomic write, a symlink swapped) is a new file: watch that one.
      if (event === 'rename') {
        watcher.close();
        this.watchers = this.watchers.filter((w) => w !== watcher);
        setTimeout(() => {
          if (!this.closed) this.watchFile(file);
        }, 200).unref();
      }
    });
    watcher.on('error', (err) => this.logger.warn({ err, file }, 'cannot watch a TLS file any more; reload with SIGHUP'));
    this.watchers.push(watcher);
  }

  /**
   * Reads the certificate, key and client CA again and serves them on new connections. A file that
   * cannot be read or does not fit (half written, a key of another certificate) is logged and the
   * previous certificate stays.
   */
  async reload(): Promise<void> {
    const { certFile, keyFile, clientCaFile } = this.settings;
    try {
      const pair = certFile && keyFile ? { cert: readPem(certFile, 'CERTIFICATE'), key: readPem(keyFile, 'PRIVATE KEY') } : this.pair;
      const clientCa = clientCaFile === undefined ? undefined : readPem(clientCaFile, 'CERTIFICATE');
      const previous = { pair: this.pair, clientCa: this.clientCa };
      this.pair = pair;
      this.clientCa = clientCa;
      try {
        for (const { server, agents } of this.servers) server.setSecureContext(this.serverOptions(agents));
      } catch (error) {
        this.pair = previous.pair;
        this.clientCa = previous.clientCa;
        for (const { server, agents } of this.servers) server.setSecureContext(this.serverOptions(agents));
        throw error;
      }
      this.logger.info({ caFingerprint: this.caFingerprint }, 'TLS certificate reloaded');
    } catch (err) {
      this.logger.error({ err }, 'TLS certificate not reloaded: the files cannot be used; the previous certificate stays');
      throw err;
    }
  }

  close(): void {
    clearTimeout(this.reloadTimer);
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}

/**
 * The agent a client certificate names (its subject's CN, or a DNS name among its SANs), when
 * courier's client CA signed it; null otherwise.
 */
export function clientCertificateNames(socket: TLSSocket): string[] | null {
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return null;
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.add(cn);
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    const [kind, value] = entry.split(':');
    if ((kind === 'DNS' || kind === 'URI') && value) names.add(value);
  }
  return [...names];
}

/** The CA and server certificate courier makes (once) and keeps in `<data-dir>/tls`. */
async function privateCertificate(settings: ServerTlsSettings, now: number): Promise<{ pair: PemPair; caFile: string }> {
  const dir = join(settings.dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  let ca: PemPair;
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    ca = { cert: readPem(files.caCert, 'CERTIFICATE'), key: readPem(files.caKey, 'PRIVATE KEY') };
  } else {
    ca = await createCa(`courier private CA (${hostname()})`, now);
    writePrivateFile(files.caKey, ca.key);
    writePrivateFile(files.caCert, ca.cert);
  }
  const hosts = [...new Set([hostname(), 'localhost', '127.0.0.1', '::1', ...settings.hosts])];
  if (existsSync(files.cert) && existsSync(files.key)) {
    const cert = readPem(files.cert, 'CERTIFICATE');
    if (coversHosts(cert, hosts, now, RENEW_DAYS) && cert.includes(ca.cert.trim())) {
      return { pair: { cert, key: readPem(files.key, 'PRIVATE KEY') }, caFile: files.caCert };
    }
  }
  const pair = await issueServerCertificate(ca, hosts, now);
  writePrivateFile(files.key, pair.key);
  writePrivateFile(files.cert, pair.cert);
  return { pair, caFile: files.caCert };
}

function readPem(file: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw errors.CONFIG.causedBy(error, `cannot read ${file}: ${(error as Error).message}`);
  }
  if (!text.includes(`-----BEGIN ${kind}`) && !(kind === 'PRIVATE KEY' && /-----BEGIN (RSA |EC )?PRIVATE KEY/.test(text))) {
    throw errors.CONFIG(`${file} holds no PEM ${kind.toLowerCase()}`);
  }
  return text;
}
