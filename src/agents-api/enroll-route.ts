import type { Socket } from 'node:net';
import type { HttpApp } from '../http/app.js';
import { errorResponses, NoQuery } from '../http/schemas.js';
import type { Enrollment } from './agent-enrollment.js';
import { EnrollBody, EnrolledAgent } from './schemas.js';

export interface EnrollRouteDeps {
  enrollment: Enrollment;
  /** A request on this connection presented valid credentials (for the cap on unauthenticated connections). */
  authenticated?: (socket: Socket) => void;
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
      const enrolled = await deps.enrollment.enroll(request.body, request.ip);
      deps.authenticated?.(request.raw.socket);
      return reply.code(201).send(enrolled);
    },
  );
}
