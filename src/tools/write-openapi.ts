import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateOpenApiDocuments, OPENAPI_FILES } from './openapi-documents.js';

// `npm run openapi`: regenerates the committed OpenAPI documents from the routes' schemas.
const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const documents = await generateOpenApiDocuments();
for (const [name, file] of Object.entries(OPENAPI_FILES)) {
  writeFileSync(join(root, file), documents[name as keyof typeof OPENAPI_FILES]);
  console.log(`wrote ${file}`);
}
