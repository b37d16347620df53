import type { Socket } from 'node:net';
import type { webcrypto } from 'node:crypto';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import { errors } from '../errors.js';
import type { ServerTls } from '../tls/server-tls.js';

type CryptoKey = webcrypto.CryptoKey;
import type { HttpApp } from '../http/app.js';
import type { EnrollmentRefusals } from './enrollment-refusals.js';
import { errorResponses, NoQuery } from '../http/schemas.js';
import { EnrollBody, EnrolledAgent } from './schemas.js';

export interface EnrollRouteDeps {
  enrollmentTokens: EnrollmentTokens;
  enrollmentRefusals: EnrollmentRefusals;
  /** A request on this connection presented valid credentials (for the cap on unauthenticated connections). */
  authenticated?: (socket: Socket) => void;
  /** With mutual TLS and the client CA's key: signs the certificate requests agents enroll with. */
  clientCertificates?: ReturnType<ServerTls['clientCertificates']>;
}

/**
 * `POST /api/v1/enroll`: a host with an enrollment token (and no other credential) registers itself
 * as an agent and gets its key, once; then it authenticates as every agent does.
 */
export function registerEnrollRoute(app: HttpApp, deps: EnrollRouteDeps): void {
  app.post(
    '/api/v1/enroll',
    {
      schema: {
        tags: ['enrollment'],
        summary: "Register this host as an agent with an enrollment token: 201 {id, key} (the key shown once), in the token's groups",
        body: EnrollBody,
        querystring: NoQuery,
        response: { 201: EnrolledAgent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { token, id, name, csr } = request.body;
      // The request is checked before the token is used: a bad one must cost no use.
      let publicKey: CryptoKey | null = null;
      if (csr !== undefined) {
        if (!deps.clientCertificates) throw errors.CSR_NOT_SIGNED();
        publicKey = await deps.clientCertificates.check(csr);
        if (!publicKey) throw errors.INVALID_CSR();
      }
      const outcome = await deps.enrollmentTokens.redeem(token, id, name);
      if (!outcome.enrolled) {
        await deps.enrollmentRefusals.record(request, outcome.error, outcome.tokenId);
        throw outcome.error;
      }
      deps.authenticated?.(request.raw.socket);
      const { agent } = outcome;
      const certificate = publicKey && (await deps.clientCertificates!.sign(publicKey, agent.id));
      request.log.info({ agent: agent.id, groups: agent.groups, token: outcome.tokenId, address: request.ip, certificate: certificate !== null }, 'agent enrolled');
      return reply.code(201).send(certificate ? { ...agent, certificate } : agent);
    },
  );
}
