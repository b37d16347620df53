import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateOpenApiDocuments, OPENAPI_FILES } from '../../src/tools/openapi-documents.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('the committed OpenAPI documents match the routes (run `npm run openapi` after changing a route)', async () => {
  const documents = await generateOpenApiDocuments();
  for (const [name, file] of Object.entries(OPENAPI_FILES)) {
    const committed = readFileSync(join(root, file), 'utf8');
    assert.equal(committed, documents[name as keyof typeof OPENAPI_FILES], `${file} drifted from the code: run \`npm run openapi\``);
  }
});

test('every route of every listener declares its responses', async () => {
  const documents = await generateOpenApiDocuments();
  for (const [name, text] of Object.entries(documents)) {
    const doc = JSON.parse(text) as {
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
    };
    assert.ok(Object.keys(doc.paths).length > 0, `${name}: no paths`);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const codes = Object.keys(operation.responses ?? {});
        // 101: the WebSocket upgrade. A declared success response has a schema (not the generator's "Default Response").
        const success = codes.find((c) => /^(2\d\d|101)$/.test(c));
        assert.ok(success, `${name}: ${method.toUpperCase()} ${path} declares no success response`);
        const content = operation.responses![success]!.content;
        assert.ok(success === '101' || (content && Object.values(content).some((c) => c.schema)), `${name}: ${method.toUpperCase()} ${path} has no response schema`);
      }
    }
  }
});

test('errors are declared as JSON on every route, whatever its success content type (e.g. the SSE feed)', async () => {
  const documents = await generateOpenApiDocuments();
  for (const [name, text] of Object.entries(documents)) {
    const doc = JSON.parse(text) as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [code, response] of Object.entries(operation.responses ?? {})) {
          if (!/^[45]/.test(code) || !response.content) continue;
          assert.deepEqual(Object.keys(response.content), ['application/json'], `${name}: ${method.toUpperCase()} ${path} ${code}`);
        }
      }
    }
  }
  const management = JSON.parse(documents.management) as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, unknown> }> } }> };
  assert.deepEqual(Object.keys(management.paths['/api/v1/events/stream']!.get.responses['200']!.content), ['text/event-stream']);
});

test('every operation of the management API declares its security: the bearer key, or none for the public /healthz', async () => {
  const doc = JSON.parse((await generateOpenApiDocuments()).management) as { paths: Record<string, Record<string, { security?: unknown }>> };
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      assert.deepEqual(operation.security, path === '/healthz' ? [] : [{ bearer: [] }], `${method.toUpperCase()} ${path}`);
      // A route that needs a key declares the refusal it answers without one (the fuzzer checks the status is documented).
      if (path !== '/healthz') assert.ok(Object.keys((operation as { responses?: object }).responses ?? {}).includes('4XX'), `${method.toUpperCase()} ${path} declares no 4XX`);
    }
  }
});
