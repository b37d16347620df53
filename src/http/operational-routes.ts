import { Type } from 'typebox';
import type { Registry } from 'prom-client';
import type { HttpApp } from './app.js';
import { errorResponses } from './schemas.js';

/** What `/healthz` reports: `ready` decides 200 or 503; the rest is detail for people. */
export interface Health {
  ready: boolean;
  [detail: string]: unknown;
}

const HealthBody = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]) }, { additionalProperties: true });

/** Where `/metrics` reads its text (a prom-client registry, or one read from another process). */
export type MetricsSource = Pick<Registry, 'contentType' | 'metrics'>;

/** `GET /healthz` and `GET /metrics` (Prometheus text format). */
export function registerOperationalRoutes(app: HttpApp, health: () => Health | Promise<Health>, metrics: MetricsSource): void {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Readiness', response: { 200: HealthBody, 503: HealthBody } }, config: { public: true } },
    async (_request, reply) => {
      const { ready, ...details } = await health();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', ...details });
    },
  );
  app.get(
    '/metrics',
    {
      // Its refusals (no key, a scoped key) are JSON errors like every route's.
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        response: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { schema: Type.String() } } }, ...errorResponses },
      },
      // Counts of the whole fleet: on the management API, for a key without a scope only.
      config: { permission: 'audit:read', fleetWide: true },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()),
  );
}
