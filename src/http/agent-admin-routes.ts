import type { AgentRegistry } from '../runtime/agent-registry.js';
import type { HttpApp } from './app.js';
import { AgentIdParams, RegisterAgentBody } from './schemas.js';

/** Agent registration on the admin plane: register, read, remove. Keys are never read back. */
export function registerAgentAdminRoutes(app: HttpApp, agents: AgentRegistry): void {
  app.post('/api/v1/agents', { schema: { body: RegisterAgentBody } }, async (request, reply) => {
    const { id, key, groups } = request.body;
    return reply.code(201).send(await agents.register(id, key, groups ?? []));
  });

  app.get('/api/v1/agents/:id', { schema: { params: AgentIdParams } }, async (request) => agents.get(request.params.id));

  app.delete('/api/v1/agents/:id', { schema: { params: AgentIdParams } }, async (request) => {
    await agents.remove(request.params.id);
    return { id: request.params.id, removed: true };
  });
}
