import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { startCourier } from '../courier.js';

/** Where each listener's OpenAPI document is committed, relative to the repository root. */
export const OPENAPI_FILES = {
  management: 'docs/openapi.json',
  agents: 'docs/openapi-agents.json',
  admin: 'docs/openapi-admin-socket.json',
} as const;

/** Starts a throw-away courier (temp data dir, ephemeral ports) and returns its OpenAPI documents as text. */
export async function generateOpenApiDocuments(): Promise<Record<keyof typeof OPENAPI_FILES, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'courier-openapi-'));
  const config = loadConfig({ flags: { host: '127.0.0.1', port: '0', managementPort: '0', dataDir, logLevel: 'silent' }, env: {} });
  const courier = await startCourier(config, { logger: pino({ level: 'silent' }) });
  try {
    const documents = courier.openapi();
    return {
      management: `${JSON.stringify(documents.management, null, 2)}\n`,
      agents: `${JSON.stringify(documents.agents, null, 2)}\n`,
      admin: `${JSON.stringify(documents.admin, null, 2)}\n`,
    };
  } finally {
    await courier.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
