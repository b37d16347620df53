import { setTimeout as sleep } from 'node:timers/promises';
import { requestJson } from '../http-client.js';
import type { ClientTls } from '../tls/client-tls.js';
import { createCsr } from '../tls/private-ca.js';
import type { AgentCredentials } from './key-file.js';

export interface EnrollOptions {
  url: string;
  token: string;
  /** The agent id to ask for (default: courier makes a UUID). */
  id?: string | undefined;
  name?: string | undefined;
  signal?: AbortSignal;
  /** How to verify courier's certificate on an `https:` URL (see `clientTls`). */
  tls?: ClientTls | undefined;
  /** Ask for a client certificate (mutual TLS): a key is made here, and only its request is sent. */
  clientCertificate?: boolean;
  /** Called on each failure that is tried again (unreachable server, 5xx, 408, 429). */
  onProblem?: (message: string) => void;
}

/** Courier refused the enrollment (bad token, id taken, bad input): trying again would not help. */
export class EnrollmentRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'EnrollmentRefused';
  }
}

const RETRIED = new Set([408, 429]);

/**
 * Enrolls with a token: `POST /api/v1/enroll` until courier answers. An unreachable or busy
 * server is tried again with back-off; a refusal (4xx) is final.
 */
export async function enroll(options: EnrollOptions): Promise<AgentCredentials> {
  // The private key never leaves this host: courier gets a request for a certificate of its public half.
  const request = options.clientCertificate ? await createCsr(options.id ?? options.name ?? 'agent') : null;
  const body = {
    token: options.token,
    ...(options.id ? { id: options.id } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(request ? { csr: request.csr } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    let problem: string;
    try {
      const res = await requestJson({
        baseUrl: options.url,
        tls: options.tls,
        method: 'POST',
        path: '/api/v1/enroll',
        body,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (res.status === 201) {
        const { id, key, certificate } = res.body as { id: string; key: string; certificate?: string };
        return { id, key, ...(request && certificate ? { certificate, certificateKey: request.key } : {}) };
      }
      const error = (res.body ?? {}) as { message?: string; code?: string };
      const message = `enrollment answered ${res.status}: ${error.message ?? JSON.stringify(res.body)}${error.code ? ` (${error.code})` : ''}`;
      if (res.status < 500 && !RETRIED.has(res.status)) throw new EnrollmentRefused(res.status, error.code, message);
      problem = message;
    } catch (error) {
      if (error instanceof EnrollmentRefused || options.signal?.aborted) throw error;
      problem = `enrollment: ${(error as Error).message}`;
    }
    options.onProblem?.(problem);
    const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
  }
}
