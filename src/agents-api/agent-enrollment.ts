import type { webcrypto } from 'node:crypto';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import { errors } from '../errors.js';
import type { ServerTls } from '../tls/server-tls.js';
import type { EnrollmentRefusals } from './enrollment-refusals.js';
import type { EnrollBody, EnrolledAgent } from './schemas.js';

type CryptoKey = webcrypto.CryptoKey;

/** What `POST /api/v1/enroll` asks of the node: the enrollment itself, from wherever the request arrived. */
export interface Enrollment {
  /** Registers the agent with the token, or refuses (recorded); `address`: where the request came from. */
  enroll(request: Static<typeof EnrollBody>, address: string): Promise<Static<typeof EnrolledAgent>>;
}

export interface AgentEnrollmentDeps {
  enrollmentTokens: EnrollmentTokens;
  enrollmentRefusals: EnrollmentRefusals;
  /** With mutual TLS and the client CA's key: signs the certificate requests agents enroll with. */
  clientCertificates?: ReturnType<ServerTls['clientCertificates']>;
  logger: Logger;
}

/**
 * A host with an enrollment token (and no other credential) registers itself as an agent and gets
 * its key, once (and, with a certificate request, its client certificate).
 */
export class AgentEnrollment implements Enrollment {
  constructor(private readonly deps: AgentEnrollmentDeps) {}

  async enroll({ token, id, name, csr }: Static<typeof EnrollBody>, address: string): Promise<Static<typeof EnrolledAgent>> {
    const { clientCertificates } = this.deps;
    // The request is checked before the token is used: a bad one must cost no use.
    let publicKey: CryptoKey | null = null;
    if (csr !== undefined) {
      if (!clientCertificates) throw errors.CSR_NOT_SIGNED();
      publicKey = await clientCertificates.check(csr);
      if (!publicKey) throw errors.INVALID_CSR();
    }
    const outcome = await this.deps.enrollmentTokens.redeem(token, id, name);
    if (!outcome.enrolled) {
      await this.deps.enrollmentRefusals.record(address, outcome.error, outcome.tokenId);
      throw outcome.error;
    }
    const { agent } = outcome;
    const certificate = publicKey && (await clientCertificates!.sign(publicKey, agent.id));
    this.deps.logger.info({ agent: agent.id, groups: agent.groups, token: outcome.tokenId, address, certificate: certificate !== null }, 'agent enrolled');
    return certificate ? { ...agent, certificate } : agent;
  }
}
