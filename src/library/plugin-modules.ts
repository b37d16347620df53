import { pathToFileURL } from 'node:url';
import { errors } from '../errors.js';
import type { FastifyPluginCallback } from 'fastify';
import type { AdminPlugin } from './courier-api.js';

/** A component's routes, as a plugin module (`--plugin`) exports them. */
export interface PluginModule {
  module: string;
  plugin: AdminPlugin | FastifyPluginCallback;
  prefix: string;
}

/**
 * Imports the plugin modules named by the configuration (absolute paths), before anything starts:
 * each must export `prefix` (a string) and `plugin` (a fastify plugin; or as its default export).
 * One that cannot be imported, or exports neither, is refused with what is wrong.
 */
export async function loadPluginModules(paths: readonly string[]): Promise<PluginModule[]> {
  const loaded: PluginModule[] = [];
  for (const module of paths) {
    let exported: { plugin?: unknown; default?: unknown; prefix?: unknown };
    try {
      exported = (await import(pathToFileURL(module).href)) as typeof exported;
    } catch (error) {
      throw errors.PLUGIN_MODULE.causedBy(error, module, `it cannot be imported (${(error as Error).message})`);
    }
    const plugin = exported.plugin ?? exported.default;
    if (typeof plugin !== 'function') throw errors.PLUGIN_MODULE(module, 'it exports no `plugin` (nor a default export) that is a fastify plugin');
    if (typeof exported.prefix !== 'string') throw errors.PLUGIN_MODULE(module, 'it exports no `prefix` string (e.g. /api/v1/rbac)');
    loaded.push({ module, plugin: plugin as AdminPlugin, prefix: exported.prefix });
  }
  return loaded;
}
